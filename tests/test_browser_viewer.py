"""The source viewer: a citation opens the cited page where the reader is, the quote boxed.

The page image comes from PDFium (``app.ui.sources_pdf``), tested here on real PDFs made
by fpdf2; then in a real headless Chromium, against ``streamlit run``: the number after a
quote opens the viewer, focus moves into it, pages turn, the image has the quote's box,
and a Markdown source shows its passage with the quote marked and the copy "also in".
At a desktop's and a phone's size, after a conversation long enough to scroll, the page
opens on screen at its natural size with the quote's box in view, and Escape closes it.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from fpdf import FPDF
from PIL import Image
from playwright.sync_api import Page, expect

from app.ui.sources_pdf import (
    CSS_PX_PER_POINT,
    HIGHLIGHT_EDGE,
    page_figure,
    page_view,
    quote_boxes,
)
from tests import docgen
from tests.ui_server import UiServer, chromium_page, docent_cli, serve_ui, sign_in

QUESTION = "How many days of annual leave does every employee receive?"
ROTA = "When does the night shift start?"
LEAVE = "Every employee receives 27 days of annual leave per year."
ALARM = "When is the fire alarm tested?"
# The answer stands low on its page, under other notices: the viewer must scroll to it.
FIRE_ALARM = "The fire alarm is tested every Tuesday at eleven in the morning for one minute."
NOTICES = [
    "Visitors sign in at the front desk and wear a badge at all times.",
    "The car park behind building C is for staff with a permit.",
    "The canteen on the second floor serves lunch from noon until two.",
    "Lost property is kept at the front desk for one month.",
    "Bicycles are parked in the racks beside the east entrance.",
    "The lifts are serviced on the first Monday of each month.",
    "Meeting rooms are booked through the front desk.",
    "The library on the third floor is open to staff on weekdays.",
    "Deliveries arrive at the loading bay behind the kitchen.",
    "The first aid room is next to the staff lounge on the ground floor.",
    "Smoking is allowed only in the shelter beside the car park.",
    "The garden courtyard is closed in winter.",
    "Printers on each floor need a staff card to release a job.",
    "Cleaners work in the offices between six and eight in the evening.",
    "Lockers in the basement are given out by the facilities team.",
    "The post room sorts letters twice a day, at nine and at two.",
]


def make_building_guide(path: Path) -> None:
    """One A4 page: the notices, then the fire alarm's own section at the page's foot."""
    pdf = FPDF(unit="mm", format="A4")
    pdf.set_title("Building Guide")
    pdf.add_page()
    for heading, paragraphs in (("Building guide", NOTICES), ("Fire alarm", [FIRE_ALARM])):
        pdf.set_font("Helvetica", "B", 18)
        pdf.multi_cell(0, 9, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 11)
        for paragraph in paragraphs:
            pdf.multi_cell(0, 5.5, paragraph, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
    pdf.output(str(path))


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


def test_the_page_is_shown_at_its_natural_size_with_the_quote_marked(handbook: Path) -> None:
    view = page_view(handbook, 2, LEAVE)
    figure = page_figure(view, 'Page 2 of "Staff <Handbook>"')

    width, height = view.natural_size  # A4 at 100 %: 595 x 842 points
    assert (width, height) == (round(595.28 * 4 / 3), round(841.89 * 4 / 3))
    assert f'width="{width}" height="{height}"' in figure
    assert 'alt="Page 2 of &quot;Staff &lt;Handbook&gt;&quot;"' in figure
    image = re.search(r"base64,([^\"]+)", figure)
    mark = re.search(r"left:(\d+)px;top:(\d+)px", figure)
    assert image and mark
    png = base64.b64decode(image.group(1))
    assert Image.open(io.BytesIO(png)).width >= 1.5 * width  # sharp on a phone's screen
    left, top = (float(n) for n in mark.groups())
    box = view.boxes[0]
    assert abs(left - box[0] * CSS_PX_PER_POINT) <= 3 and abs(top - box[1] * CSS_PX_PER_POINT) <= 3
    assert "docent-quote-box" not in page_figure(page_view(handbook, 3, LEAVE), "Page 3")


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
    make_building_guide(files / "building.pdf")
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
    """The page image shown in the panel (inline, so nothing is fetched for it)."""
    src = page.locator(".st-key-source-panel img").get_attribute("src")
    assert src and src.startswith("data:image/png;base64,"), src
    return base64.b64decode(src.split(",", 1)[1])


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
    heading = page.get_by_role("dialog").get_by_role("heading", name="Source 1: Staff Handbook")
    expect(heading).to_be_visible(timeout=60_000)
    inside = "() => !!document.activeElement.closest('[role=dialog]')"
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
    expect(panel.get_by_role("img", name=re.compile("^Page 3 of Staff Handbook"))).to_be_visible()
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


@pytest.mark.browser
@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_the_cited_page_opens_readable_where_the_reader_is(
    ui_server: UiServer, tmp_path: Path, width: int, height: int
) -> None:
    with chromium_page(width, height) as page:
        page.goto(ui_server.url)
        sign_in(page, ui_server.password, tmp_path)
        for question in (ROTA, QUESTION, ALARM):  # long enough to scroll on either screen
            ask(page, question)
        scrolled = page.evaluate(
            "() => Math.max(window.scrollY,"
            " ...[...document.querySelectorAll('*')].map((e) => e.scrollTop))"
        )
        assert scrolled > 0, "the conversation should be scrolled down"
        # Keyboard: the quote's number is a button Enter opens.
        page.get_by_test_id("stChatMessage").last.get_by_role(
            "button", name="[1]", exact=True
        ).press("Enter")

        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_role("heading", name="Source 1: Building Guide")).to_be_in_viewport(
            timeout=60_000
        )
        image = dialog.get_by_role("img", name=re.compile("Page 1 of Building Guide"))
        expect(image).to_be_visible()
        document = pdfium.PdfDocument(str(ui_server.data.parent / "files" / "building.pdf"))
        try:
            natural = round(document[0].get_width() * CSS_PX_PER_POINT)
        finally:
            document.close()
        shown = image.bounding_box()
        assert shown and abs(shown["width"] - natural) <= 1, (shown, natural)
        if width >= natural + 100:  # the whole width of the page is on a desktop's screen
            assert shown["x"] >= 0 and shown["x"] + shown["width"] <= width, shown

        box = dialog.locator(".docent-quote-box")
        # Scrolled to: the quote's box on screen, whole where the screen is wide enough,
        # else from its start; and the highlight drawn in the image is what is there.
        expect(box).to_be_in_viewport(ratio=1 if width > natural else 0.4, timeout=10_000)
        area = box.bounding_box()
        assert area and 0 <= area["x"] < width and area["y"] >= 0
        # It stands lower on its page than a screen's height: the panel scrolled to it.
        page_top = image.bounding_box()
        assert page_top and area["y"] - page_top["y"] > height * 0.6, (area, page_top)
        assert area["y"] + area["height"] <= height, area
        screen = Image.open(io.BytesIO(page.screenshot(path=tmp_path / f"viewer-{width}.png")))
        right = min(area["x"] + area["width"], width)
        seen = screen.convert("RGB").crop(
            (round(area["x"]), round(area["y"]), round(right), round(area["y"] + area["height"]))
        )
        edge, data = HIGHLIGHT_EDGE[:3], seen.tobytes()
        near = [
            i
            for i in range(0, len(data), 3)
            if sum(abs(a - b) for a, b in zip(data[i : i + 3], edge, strict=True)) < 60
        ]
        assert len(near) > 50, "the highlight's outline is not on screen"

        # The page itself takes the keyboard (arrow keys scroll it); Escape closes.
        expect(dialog.locator(".docent-page")).to_have_attribute("tabindex", "0")
        page.keyboard.press("Escape")
        expect(page.locator(".st-key-source-panel")).to_have_count(0, timeout=60_000)
        page.wait_for_timeout(1500)  # a rerun after closing does not open it again
        expect(page.locator(".st-key-source-panel")).to_have_count(0)


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS ``rgb(...)`` colours."""

    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", colour)[:3]]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
