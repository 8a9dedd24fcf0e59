"""The page's own styles: readable contrast, the quote's mark, and a phone-sized layout.

Streamlit's light theme draws captions, badges and disabled buttons in greys and pastels
that read at 2.3-3.9:1 against the page; WCAG 2.1 AA asks 4.5:1 of text. These rules
darken them (measured by axe-core in ``tests/test_a11y.py``). Everything is local: the
rules and the small script travel with the page, nothing is fetched.

A skip link and the question box's focus after an answer serve keyboard use (``KEYBOARD``).
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


# Keyboard use: a skip link, the page's first stop for Tab, goes to the question box (or
# the page's content where there is none); and the question box, closed while an answer
# is written, takes the focus back when it opens again, unless the person has moved it
# somewhere since. The link is made by the script, outside Streamlit's own elements.
KEYBOARD = """<script>
(() => {
  if (window.__docentKeyboard) return;
  window.__docentKeyboard = true;
  const box = () => document.querySelector('[data-testid="stChatInputTextArea"]');
  const skip = document.createElement("a");
  skip.href = "#";
  skip.className = "docent-skip";
  skip.textContent = "Skip to the question box";
  skip.addEventListener("focus", () => {
    skip.textContent = box() ? "Skip to the question box" : "Skip to the page content";
  });
  skip.addEventListener("click", (event) => {
    event.preventDefault();
    const target = box() || document.querySelector('[data-testid="stMain"]');
    if (!target) return;
    if (!box()) target.setAttribute("tabindex", "-1");
    target.focus();
  });
  document.body.prepend(skip);
  let closed = false;
  new MutationObserver(() => {
    const question = box();
    if (!question) return;
    const idle = !document.activeElement || document.activeElement === document.body;
    if (closed && !question.disabled && idle) question.focus();
    closed = question.disabled;
  }).observe(document.body, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["disabled"],
  });
})();
</script>"""
SKIP_STYLE = f"""<style>
a.docent-skip {{
  position: fixed; left: 0.5rem; top: -3rem; z-index: 1000100; padding: 0.5rem 1rem;
  background: #fff; color: {TEXT}; border: 2px solid {TEXT}; border-radius: 0.5rem;
}}
a.docent-skip:focus {{ top: 0.5rem; }}
</style>"""


def apply() -> None:
    """Add the styles and the page's scripts to this run's page (call once, first)."""
    st.html(STYLE + SKIP_STYLE)  # styles alone: Streamlit adds them to the page, not the flow
    st.html(CLOSE_SIDEBAR + KEYBOARD, unsafe_allow_javascript=True)
