"""The page's own styles: readable contrast, the quote's mark, and a phone-sized layout.

Streamlit's light theme draws captions, badges and disabled buttons in greys and pastels
that read at 2.3-3.9:1 against the page; WCAG 2.1 AA asks 4.5:1 of text. These rules
darken them (measured by axe-core in ``tests/test_a11y.py``). Everything is local: the
rules and the small script travel with the page, nothing is fetched.

On a phone (under 768 px) the sidebar is an overlay: the script closes it once a page of
its navigation is chosen, so the page chosen is what one sees. Tables scroll sideways
inside the page instead of being cut at its edge.
"""

from __future__ import annotations

import streamlit as st

TEXT = "#262730"
"""Body text (Streamlit's own), 15.1:1 on white."""
MUTED = "#4a4d57"
"""Captions and secondary text: 8.3:1 on white (Streamlit's grey: 3.9:1)."""
SELECTED = "#a31515"
"""The chosen option of a button group: 7.6:1 on white (Streamlit's red is 3.0:1)."""
MARK_EDGE = "#b45309"
"""The quote's outline in a passage: 5.0:1 against the page (3:1 needed)."""

STYLE = f"""<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p,
[data-testid="stWidgetLabel"] small, [data-testid="stTooltipHoverTarget"] small,
[data-testid="stFileUploaderDropzoneInstructions"] span,
[data-testid="stFileUploaderDropzoneInstructions"] small {{
  color: {MUTED} !important;
  opacity: 1 !important;
}}
blockquote, blockquote p {{
  color: {TEXT} !important;
  opacity: 1 !important;
}}
button:disabled, button[disabled], button:disabled p {{
  color: {MUTED} !important;
  opacity: 1 !important;
}}
[data-testid="stButtonGroup"] button[data-selected="true"] p {{
  color: {SELECTED} !important;
}}
textarea::placeholder, input::placeholder {{
  color: {MUTED} !important;
  opacity: 1 !important;
}}
span[class*="Badge"], span[class*="badge"] {{
  color: {TEXT} !important;
}}
mark.docent-quote {{
  background: #fde68a;
  color: {TEXT};
  outline: 2px solid {MARK_EDGE};
  border-radius: 2px;
  padding: 0 1px;
}}
.docent-passage {{
  line-height: 1.6;
  white-space: pre-wrap;
}}
[data-testid="stDataFrame"], [data-testid="stTable"] {{
  max-width: 100%;
  overflow-x: auto;
}}
</style>"""

# A click on the sidebar's navigation, on a narrow screen, closes the sidebar.
CLOSE_SIDEBAR = """<script>
(() => {
  if (window.__docentSidebar) return;
  window.__docentSidebar = true;
  document.addEventListener("click", (event) => {
    if (window.innerWidth >= 768) return;
    if (!event.target.closest('[data-testid="stSidebarNav"] a')) return;
    setTimeout(() => {
      const open = '[data-testid="stSidebar"][data-collapsed="false"] ';
      const close = document.querySelector(
        open + '[data-testid="stSidebarCollapseButton"] button'
      );
      if (close) close.click();
    }, 150);
  }, true);
})();
</script>"""


def apply() -> None:
    """Add the styles and the phone script to this run's page (call once, first)."""
    st.html(STYLE)  # styles alone: Streamlit adds them to the page, not to the flow
    st.html(CLOSE_SIDEBAR, unsafe_allow_javascript=True)
