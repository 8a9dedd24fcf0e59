"""The Status page: the health of each component, index statistics, versions."""

from __future__ import annotations

import streamlit as st

from app.sync_runs import SyncRun
from app.ui import feedback, present, resources
from models.errors import DocentError


def page() -> None:
    """Render the Status page."""
    st.title("Status")
    docent = resources.docent()
    try:
        state = docent.status(user=resources.current_user())
    except DocentError as error:
        resources.show_error(error)
        return
    with st.spinner("Checking the chat model…"):
        models = docent.models()
    for check in present.health(state, models):
        alert = st.success if check.ok else st.error
        alert(
            f"**{check.component}**: {present.escape(check.detail)}",
            icon=":material/check_circle:" if check.ok else ":material/error:",
        )
    st.subheader("Index")
    st.caption(present.escape(state.index))
    if state.collections:
        st.dataframe(present.collection_rows(state.collections), hide_index=True)
    else:
        st.info("The index is empty: add documents on the Library page.")
    if state.scheduled:
        st.subheader("Scheduled sync")
        st.dataframe([scheduled_row(run) for run in state.scheduled], hide_index=True)
    feedback.status_section(docent)
    st.subheader("Models")
    st.markdown(present.escape(f"Embedder: {state.embedder} ({state.embedder_backend})"))
    best = models.recommended
    st.markdown(
        present.escape(
            f"Recommended chat model for this machine ({models.ram_bytes / 2**30:.0f} GiB RAM): "
            f"{best.tag}"
        )
    )
    st.code(f"ollama pull {best.tag}\nDOCENT_CHAT_BACKEND=ollama DOCENT_CHAT_MODEL={best.tag}")
    st.subheader("Versions")
    st.dataframe(
        [{"component": name, "version": version} for name, version in state.versions.items()],
        hide_index=True,
    )


def scheduled_row(run: SyncRun) -> dict[str, str]:
    """A row of the Scheduled sync table: the last run of one source."""
    return {
        "source": run.source,
        "from": run.target,
        "collection": run.collection,
        "last run": run.result,
        "started": run.started_at,
        "ended": run.finished_at,
        "files": run.tally(),
        "error": run.error,
        "next": run.next_run,
    }
