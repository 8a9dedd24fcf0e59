"""The source viewer: a citation opens its document at the quote, where the reader is.

Clicking a citation (the chip under an answer, or the number after a quote) opens a
panel over the right of the page (a modal drawer, full height, at the top of the screen
wherever the conversation is scrolled to; the whole width of a phone). For a PDF it shows
the cited page at its natural size, as a PDF reader at 100 %, with the quoted sentence
boxed (``app.ui.sources_pdf``) and scrolled into view, with page forward/back; for HTML,
Word and text files the passage in context with the quote marked. The quote is always
also given as text (the image's words are not readable to a screen reader), with the
other documents holding the same passage ("also in") and the download of the original.
Keyboard focus moves into the panel when it opens; Escape or Close closes it.
"""

from __future__ import annotations

import html
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import streamlit as st

from app import originals
from app.conversations import where
from app.ui import present, resources

if TYPE_CHECKING:
    from app.api import Docent
    from app.ui.sources_pdf import PageView
    from rag.answer import Answer, Citation

VIEWER_KEY = "source-viewer"
PANEL_KEY = "source-panel"
PANEL_MARGIN = 96
"""Room in the panel beside a page at its natural size (its padding and a scroll bar)."""
# Moves focus to the panel once it is on the page (Streamlit draws it a moment later).
_FOCUS = """<script>
(() => {
  let tries = 0;
  const focus = () => {
    const panel = document.querySelector(".st-key-source-panel");
    if (!panel) { if (tries++ < 50) setTimeout(focus, 100); return; }
    const dialog = panel.closest('[role="dialog"]') || panel;
    const heading = dialog.querySelector("h1, h2, h3") || panel;
    heading.setAttribute("tabindex", "-1");
    heading.focus({preventScroll: true});
  };
  focus();
})();
</script>"""
# Scrolls the page so the quote's box is in view: centred when it fits the screen, its
# first line at the top when it does not; on a screen narrower than the page, its start
# at the left. Page %d; the number makes each page's script new, so it runs again.
_SCROLL = """<script>
(() => {
  let tries = 0;
  const scroll = () => {
    const page = document.querySelector(".st-key-source-panel .docent-page");
    const box = page && page.querySelector(".docent-quote-box");
    const image = page && page.querySelector("img");
    if (!page || (box && !(image && image.complete))) {
      if (tries++ < 50) setTimeout(scroll, 100);
      return;
    }
    const target = box || page;
    const fits = target.getBoundingClientRect().height < window.innerHeight * 0.6;
    target.scrollIntoView({block: box && fits ? "center" : "start", inline: "start"});
  };
  setTimeout(scroll, 50);
})(/* page %d */);
</script>"""
_PAGE_STYLE = """<style>
.docent-page { max-width: 100%; overflow-x: auto; }
.docent-page:focus-visible { outline: 2px solid #262730; outline-offset: 2px; }
.docent-sheet { position: relative; }
.docent-sheet img { display: block; width: 100%; height: 100%; max-width: none; }
.docent-quote-box { position: absolute; pointer-events: none; scroll-margin: 1rem; }
</style>"""


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
    """Open the panel: where the quote stands, the page or passage, also in, the original.

    A PDF's panel is as wide as its page at its natural size (narrower screens scroll the
    page sideways); other sources take a panel of reading width.
    """
    cited = shown.citation
    path = docent.document_file(shown.collection, cited.source, user=resources.current_user())
    pdf = path is not None and path.suffix.lower() == ".pdf" and bool(cited.page)
    width: int | Literal["medium"] = "medium"
    if path is not None and pdf:
        view = _render(str(path), path.stat().st_mtime, shown.page, _quote_on(shown))
        width = view.natural_size[0] + PANEL_MARGIN
    title = present.escape(f"Source {cited.number}: {cited.title or cited.source}")
    panel = st.dialog(title, width=width, position="right", on_dismiss=_close)(_panel)
    panel(shown, path, pdf=pdf)


def _panel(shown: Viewing, path: Path | None, *, pdf: bool) -> None:
    cited = shown.citation
    with st.container(key=PANEL_KEY):
        st.caption(present.escape(where(cited.title, cited.source, cited.page, cited.cells)))
        if path is not None and pdf:
            _pdf_page(path, shown)
        else:
            st.html(f'<div class="docent-passage">{shown.passage}</div>')
        st.markdown(f"**Quoted:** “{present.escape(' '.join(cited.quote.split()))}”")
        if cited.also_in:
            names = ", ".join(cited.also_in)
            st.markdown(present.escape(f"The same passage is also in: {names}"))
        _downloads(path, cited)
        if st.button("Close", icon=":material/close:", key="close-source"):
            _close()
            st.rerun()
    if shown.focus:
        shown.focus = False
        st.html(_FOCUS, unsafe_allow_javascript=True)


def _quote_on(shown: Viewing) -> str:
    """The quote to box on the page shown: only the cited page has it."""
    return shown.citation.quote if shown.page == shown.citation.page else ""


@st.cache_data(show_spinner=False, max_entries=32)
def _render(path: str, modified: float, page: int, quote: str) -> PageView:
    from app.ui.sources_pdf import page_view

    return page_view(Path(path), page, quote)


def _pdf_page(path: Path, shown: Viewing) -> None:
    """The page at its natural size, the quote boxed on the cited page and scrolled to."""
    from app.ui.sources_pdf import page_figure

    cited = shown.citation
    view = _render(str(path), path.stat().st_mtime, shown.page, _quote_on(shown))
    shown.page = page = view.page
    pages = view.pages
    if shown.page == cited.page:
        note = "The quoted sentence is boxed." if view.found else "The quote is on this page."
    else:
        note = f"The quote is on page {cited.page}."
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
    alt = f"Page {page} of {cited.title or cited.source}. {note}"
    st.html(_PAGE_STYLE + page_figure(view, alt))
    st.html(_SCROLL % page, unsafe_allow_javascript=True)


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
