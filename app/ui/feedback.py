"""Readers' feedback under an answer, and the eval figures on the Status page.

Two self-contained pieces, each called with one line: ``control`` from the Ask page under
every answer, ``status_section`` from the Status page. Feedback goes through
``Docent.give_feedback`` (stored and audited); only administrators see what was given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from app.ui import resources
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
        st.caption(f"Readers' feedback: {count} (see `docent eval feedback`).")
