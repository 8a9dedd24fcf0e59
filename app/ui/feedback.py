"""Readers' feedback under an answer, what they said, and the eval figures on Status.

Self-contained pieces, each called with one line: ``control`` from the Ask page under
every answer, ``page`` as the administrators' Feedback page, ``status_section`` from the
Status page. Feedback goes through ``Docent.give_feedback`` (stored and audited); only
administrators see what was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.ui import present, resources
from models.errors import DocentError

if TYPE_CHECKING:
    from app.api import Docent
    from rag.answer import Answer

_VERDICTS = ("Helpful", "Not helpful")


def control(docent: Docent, collection: str, answer: Answer, key: str) -> None:
    """ "Helpful" / "not helpful", an optional note and "the answer is on page ..."."""
    sent = f"feedback-sent-{key}"
    if st.session_state.get(sent):
        st.caption("Thank you: your feedback went to the administrators.")
        return
    with (
        st.popover("Feedback", icon=":material/rate_review:"),
        st.form(f"feedback-{key}", border=False),
    ):
        verdict = st.radio("Was this answer helpful?", _VERDICTS, index=None, horizontal=True)
        note = st.text_input("Note (optional)", max_chars=2000)
        cited = sorted({c.source for c in answer.citations})
        source = st.text_input(
            "The answer is in (document)", value=cited[0] if len(cited) == 1 else ""
        )
        page = st.number_input("on page (0: not said)", min_value=0, step=1, value=0)
        if not st.form_submit_button("Send feedback"):
            return
        if verdict is None:
            st.warning("Choose helpful or not helpful first.")
            return
        try:
            docent.give_feedback(
                collection,
                answer,
                helpful=verdict == _VERDICTS[0],
                note=note,
                source=source.strip() if page else "",
                page=int(page),
                user=resources.current_user(),
            )
        except DocentError as error:
            resources.show_error(error)
            return
    st.session_state[sent] = True
    st.rerun()


def status_section(docent: Docent) -> None:
    """The last eval's headline figures per collection, and (for administrators) feedback."""
    from app.eval import Evaluation

    user = resources.current_user()
    names = [info.name for info in docent.collections(user=user)]
    last = Evaluation(docent).last_runs(names)
    st.subheader("Answer quality")
    if last:
        st.dataframe([{"collection": name} | row for name, row in last.items()], hide_index=True)
    else:
        st.caption("No eval run yet: `docent eval run -c NAME` measures one.")
    if user.is_admin:
        count = len(docent.feedback(user=user))
        st.caption(f"Readers' feedback: {count}, listed on the Feedback page.")


def page() -> None:
    """The Feedback page: what readers said of the answers, newest first (administrators)."""
    st.title("Feedback")
    docent = resources.docent()
    user = resources.current_user()
    try:
        entries = docent.feedback(user=user)
    except DocentError as error:
        resources.show_error(error)
        return
    if not entries:
        st.info("No feedback yet: readers give it under each answer.", icon=":material/inbox:")
        return
    names = sorted({entry.collection for entry in entries})
    with st.container(horizontal=True, vertical_alignment="bottom"):
        chosen = st.selectbox("Collection", ["All", *names], key="feedback-collection")
        unhelpful = st.toggle("Not helpful only", key="feedback-unhelpful")
    shown = [
        e for e in entries if chosen in ("All", e.collection) and not (unhelpful and e.helpful)
    ]
    st.caption(f"{len(shown)} of {len(entries)} feedback entries, newest first.")
    st.dataframe(
        present.feedback_rows(shown),
        hide_index=True,
        key="feedback-table",
        column_config={
            "question": st.column_config.TextColumn(width="large"),
            "comment": st.column_config.TextColumn(width="large"),
        },
    )
