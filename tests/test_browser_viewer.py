"""The source viewer: a citation opens the cited page beside the answer, the quote boxed.

The page image comes from PDFium (``app.ui.sources_pdf``), tested here on real PDFs made
by fpdf2; then in a real headless Chromium, against ``streamlit run``: the number after a
quote opens the viewer, focus moves into it, pages turn, the image has the quote's box,
and a Markdown source shows its passage with the quote marked and the copy "also in".
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from app.ui.sources_pdf import HIGHLIGHT_EDGE, page_view, quote_boxes
from tests import docgen
from tests.ui_server import UiServer, chromium_page, docent_cli, serve_ui, sign_in

QUESTION = "How many days of annual leave does every employee receive?"
ROTA = "When does the night shift start?"
LEAVE = "Every employee receives 27 days of annual leave per year."
SLOW = 240_000


def edge_pixels(png: bytes) -> list[tuple[int, int]]:
    """Where the image has the highlight's outline colour."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    edge = HIGHLIGHT_EDGE[:3]
    return [
        (x, y)
        for y in range(0, image.height, 2)
        for x in range(image.width)
        if image.getpixel((x, y)) == edge
    ]


@pytest.fixture(scope="module")
def handbook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("viewer") / "handbook.pdf"
    docgen.make_pdf(path, pages=docgen.HANDBOOK_PAGES, title="Staff Handbook")
    return path


def test_the_quote_is_boxed_on_its_page_and_nowhere_else(handbook: Path) -> None:
    cited = page_view(handbook, 2, LEAVE)
    other = page_view(handbook, 3, LEAVE)
    plain = page_view(handbook, 2)

    assert (cited.page, cited.pages, cited.found) == (2, 3, True)
    assert not other.found and not edge_pixels(other.png) and not edge_pixels(plain.png)
    box = edge_pixels(cited.png)
    assert box
    # The box is where the sentence is: under the heading, in the page's top part.
    top = min(y for _, y in box)
    bottom = max(y for _, y in box)
    height = Image.open(io.BytesIO(cited.png)).height
    assert 0 < top < bottom < height / 4
    assert page_view(handbook, 9, LEAVE).page == 3  # a page past the end shows the last


def test_a_quote_over_two_lines_gets_a_box_per_line(tmp_path: Path) -> None:
    long = (
        "Every employee who has worked here for more than five years receives three extra "
        "days of leave, which must be taken before the end of the following March or lost."
    )
    path = tmp_path / "long.pdf"
    docgen.make_pdf(path, pages=[("Leave", long)], title="Leave")
    document = pdfium.PdfDocument(str(path))
    try:
        boxes = quote_boxes(document[0], long)
    finally:
        document.close()
    assert len(boxes) >= 2
    assert all(left < right and top < bottom for left, top, right, bottom in boxes)


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, handbook: Path) -> Iterator[UiServer]:
    work = tmp_path_factory.mktemp("viewer-ui")
    files = work / "files"
    (files / "old").mkdir(parents=True)
    (files / "handbook.pdf").write_bytes(handbook.read_bytes())
    rota = "The night shift starts at nine in the evening and ends at seven in the morning."
    (files / "rota.md").write_text(f"# Night rota\n\n{rota}\n")
    (files / "old" / "rota.txt").write_text(f"Night rota\n\n{rota}\n")
    docent_cli(work / "data", "ingest", str(files), "-c", "default")
    with serve_ui(work) as served:
        yield served


@pytest.fixture
def browser_page() -> Iterator[Page]:
    with chromium_page() as page:
        yield page


def ask(page: Page, question: str) -> None:
    """Ask ``question`` and wait for its quoted answer (the last message of the chat)."""
    messages = page.get_by_test_id("stChatMessage")
    before = messages.count()
    page.get_by_test_id("stChatInputTextArea").fill(question)
    page.keyboard.press("Enter")
    expect(messages).to_have_count(before + 2, timeout=SLOW)
    quoted = messages.last.get_by_text(re.compile(r"Quoted from \S+"))
    expect(quoted).to_be_visible(timeout=SLOW)


def shown_image(page: Page) -> bytes:
    image = page.locator(".st-key-source-panel img")
    src = image.get_attribute("src")
    assert src
    base = re.match(r"https?://[^/]+", page.url)
    assert base
    return page.request.get(src if src.startswith("http") else base.group(0) + src).body()


@pytest.mark.browser
def test_a_citation_opens_its_page_beside_the_answer(
    ui_server: UiServer, browser_page: Page, tmp_path: Path
) -> None:
    page = browser_page
    page.goto(ui_server.url)
    sign_in(page, ui_server.password, tmp_path)
    ask(page, QUESTION)
    page.get_by_role("button", name="[1]", exact=True).first.click()

    panel = page.locator(".st-key-source-panel")
    expect(panel.get_by_role("heading", name="Source 1: Staff Handbook")).to_be_visible(
        timeout=60_000
    )
    inside = "() => !!document.activeElement.closest('.st-key-source-panel')"
    page.wait_for_function(inside, timeout=10_000)
    image = panel.get_by_role("img", name="Page 2 of Staff Handbook. The quoted sentence is boxed.")
    expect(image).to_be_visible()
    expect(panel).to_contain_text("Page 2 of 3")
    assert edge_pixels(shown_image(page))
    expect(panel.get_by_role("button", name="Download the original")).to_be_visible()
    page.screenshot(path=tmp_path / "viewer-page-2.png", full_page=True)

    panel.get_by_role("button", name="Next page").click()
    expect(panel).to_contain_text("Page 3 of 3. The quote is on page 2.", timeout=60_000)
    expect(panel.get_by_role("button", name="Next page")).to_be_disabled()
    assert not edge_pixels(shown_image(page))
    panel.get_by_role("button", name="Previous page").click()
    expect(panel).to_contain_text("Page 2 of 3. The quoted sentence is boxed.", timeout=60_000)

    panel.get_by_role("button", name="Close").click()
    expect(panel).to_have_count(0, timeout=60_000)
    ask(page, ROTA)
    messages = page.get_by_test_id("stChatMessage")
    messages.last.get_by_role("button", name="[1]", exact=True).click()
    mark = page.locator(".st-key-source-panel mark.docent-quote")
    expect(mark).to_contain_text("night shift starts at nine", timeout=60_000)
    expect(page.locator(".st-key-source-panel")).to_contain_text("also in")
    outline = mark.evaluate("(m) => getComputedStyle(m).outlineColor")
    assert contrast(outline, "rgb(255, 255, 255)") >= 3.0, outline


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(...)`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
