"""The source viewer: a citation opens its document beside the answer, at the quote.

Clicking a citation (the chip under an answer, or the number after a quote) opens a
panel beside the conversation. For a PDF it shows the cited page as an image with the
quoted sentence boxed (``app.ui.sources_pdf``), with page forward/back; for HTML, Word
and text files the passage in context with the quote marked. The quote is always also
given as text (the image's words are not readable to a screen reader), with the other
documents holding the same passage ("also in") and the download of the original.
Keyboard focus moves into the panel when it opens, so a keyboard or screen-reader user
lands on what they asked for.
"""

from __future__ import annotations

import html
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from app import originals
from app.conversations import where
from app.ui import present, resources

if TYPE_CHECKING:
    from app.api import Docent
    from rag.answer import Answer, Citation

VIEWER_KEY = "source-viewer"
PANEL_KEY = "source-panel"
# Moves focus to the panel once it is on the page (Streamlit draws it a moment later).
_FOCUS = """<script>
(() => {
  let tries = 0;
  const focus = () => {
    const panel = document.querySelector(".st-key-source-panel");
    if (!panel) { if (tries++ < 50) setTimeout(focus, 100); return; }
    const heading = panel.querySelector("h1, h2, h3") || panel;
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  };
  focus();
})();
</script>"""


@dataclass
class Viewing:
    """The citation open in the viewer.

    Attributes:
        collection: Where the document is.
        citation: What was cited (source, page, quote, span, also in).
        passage: HTML of the cited passage with the quote marked, all text escaped.
        page: The page shown (PDFs), starting at the cited page.
        focus: Focus is still to be moved into the panel.
    """

    collection: str
    citation: Citation
    passage: str
    page: int
    focus: bool = True


def passage_html(answer: Answer, citation: Citation, context: int = present.CONTEXT_CHARS) -> str:
    """The cited passage with the quote in ``<mark>``, every character of text escaped."""
    source = next((s for s in answer.evidence if s.number == citation.number), None)
    if source is None:
        return f'<mark class="docent-quote">{html.escape(citation.quote)}</mark>'
    text = source.text
    start = max(0, min(citation.char_start - source.char_start, len(text)))
    end = max(start, min(citation.char_end - source.char_start, len(text)))
    lead = "… " if start > context else ""
    tail = " …" if len(text) - end > context else ""
    before = html.escape(text[max(0, start - context) : start])
    after = html.escape(text[end : end + context])
    quote = html.escape(text[start:end])
    return f'{lead}{before}<mark class="docent-quote">{quote}</mark>{after}{tail}'


def _open(collection: str, answer: Answer, citation: Citation) -> None:
    passage = passage_html(answer, citation)
    st.session_state[VIEWER_KEY] = Viewing(collection, citation, passage, citation.page or 1)


def _close() -> None:
    st.session_state.pop(VIEWER_KEY, None)


def _turn_page(step: int) -> None:
    viewing: Viewing | None = st.session_state.get(VIEWER_KEY)
    if viewing is not None:
        viewing.page += step


def chip(collection: str, answer: Answer, citation: Citation, key: str, *, marker: bool) -> None:
    """The button that opens ``citation`` in the viewer: a chip, or the quote's number."""
    label = f"[{citation.number}]" if marker else present.citation_label(citation)
    st.button(
        present.escape(label),
        key=f"{'marker' if marker else 'chip'}-{key}-{citation.number}",
        type="tertiary" if marker else "secondary",
        icon=None if marker else ":material/article:",
        help=f"Show source {citation.number} beside the answer",
        on_click=_open,
        args=(collection, answer, citation),
    )


def viewing(collection: str) -> Viewing | None:
    """The citation open in the viewer for ``collection``, if any."""
    shown: Viewing | None = st.session_state.get(VIEWER_KEY)
    return shown if shown is not None and shown.collection == collection else None


def viewer(docent: Docent, shown: Viewing) -> None:
    """The panel: where the quote stands, the page or passage, also in, the original."""
    cited = shown.citation
    with st.container(border=True, key=PANEL_KEY):
        st.subheader(present.escape(f"Source {cited.number}: {cited.title or cited.source}"))
        st.caption(present.escape(where(cited.title, cited.source, cited.page)))
        path = docent.document_file(shown.collection, cited.source, user=resources.current_user())
        if path is not None and path.suffix.lower() == ".pdf" and cited.page:
            _pdf_page(path, shown)
        else:
            st.html(f'<div class="docent-passage">{shown.passage}</div>')
        st.markdown(f"**Quoted:** “{present.escape(' '.join(cited.quote.split()))}”")
        if cited.also_in:
            names = ", ".join(cited.also_in)
            st.markdown(present.escape(f"The same passage is also in: {names}"))
        _downloads(path, cited)
        st.button("Close", icon=":material/close:", key="close-source", on_click=_close)
    if shown.focus:
        shown.focus = False
        st.html(_FOCUS, unsafe_allow_javascript=True)


@st.cache_data(show_spinner=False, max_entries=32)
def _render(path: str, modified: float, page: int, quote: str) -> tuple[bytes, int, int, bool]:
    from app.ui.sources_pdf import page_view

    view = page_view(Path(path), page, quote)
    return view.png, view.page, view.pages, view.found


def _pdf_page(path: Path, shown: Viewing) -> None:
    """The page as an image, the quote boxed on the cited page; previous and next."""
    cited = shown.citation
    quote = cited.quote if shown.page == cited.page else ""
    png, page, pages, found = _render(str(path), path.stat().st_mtime, shown.page, quote)
    shown.page = page
    if shown.page == cited.page:
        note = "The quoted sentence is boxed." if found else "The quote is on this page."
    else:
        note = f"The quote is on page {cited.page}."
    st.image(png, alt=f"Page {page} of {cited.title or cited.source}. {note}", output_format="PNG")
    st.caption(f"Page {page} of {pages}. {note}")
    with st.container(horizontal=True):
        st.button(
            "Previous page",
            icon=":material/chevron_left:",
            key="source-previous",
            disabled=page <= 1,
            on_click=_turn_page,
            args=(-1,),
        )
        st.button(
            "Next page",
            icon=":material/chevron_right:",
            key="source-next",
            disabled=page >= pages,
            on_click=_turn_page,
            args=(1,),
        )


def _downloads(path: Path | None, cited: Citation) -> None:
    if path is None:
        st.caption("The original file is not available (moved, changed or not yours).")
        return
    with st.container(horizontal=True):
        st.download_button(
            "Download the original",
            data=path.read_bytes,
            file_name=path.name,
            mime=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            on_click="ignore",
            icon=":material/download:",
            key=f"download-source-{cited.number}",
        )
        page_button(path, cited, f"page-source-{cited.number}")


def page_button(path: Path, citation: Citation, key: str) -> None:
    """The cited page alone as a PDF, for a PDF source."""
    if citation.page and path.suffix.lower() == ".pdf":
        st.download_button(
            f"Page {citation.page} alone (PDF)",
            data=lambda: originals.pdf_page(path, citation.page) or b"",
            file_name=f"{path.stem}-page-{citation.page}.pdf",
            mime="application/pdf",
            on_click="ignore",
            icon=":material/description:",
            key=key,
        )
