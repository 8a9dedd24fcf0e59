"""Which elements of an HTML page a reader cannot see, from the page's own styles.

The page's ``<style>`` blocks are parsed with tinycss2 and matched with cssselect2 (the
CSS engine of WeasyPrint), so a class rule such as ``.note{display:none}`` hides text
just as an inline ``style`` attribute does; inline declarations win over the sheet, and
``!important`` over both, as in a browser. The ways to hide text are the ones found in
the wild: no display, no visibility, near-zero opacity or type, a colour that vanishes
on its ground (white or near it on a white page in any CSS notation: names, ``#fff``,
``rgb()``, ``hsl()``; or see-through: ``transparent``, an alpha near zero), a position
thousands of pixels off the page, a box of no height that clips its overflow, a clip
that removes everything, a scale of zero and an indent off-screen. Class names that
common frameworks hide by (Bootstrap's ``hidden``, ``d-none``) count too: their
stylesheet is not part of the file, but a browser with the site's CSS hides them.
"""

from __future__ import annotations

import colorsys
import re
import xml.etree.ElementTree as ET

import cssselect2
import tinycss2
from bs4 import BeautifulSoup
from bs4.element import Tag

Style = dict[str, str]

HIDING_CLASSES = {"hidden", "d-none", "invisible", "hide", "is-hidden", "u-hidden"}
"""Classes that Bootstrap, Foundation and similar frameworks define as hidden."""

_NUMBER = re.compile(r"(-?[\d.]+)\s*([a-z%]*)")
_OFF_PAGE_PX = -500  # left/top/indent this far out: off any screen
_ALMOST_ZERO = 0.1  # opacity or scale under this: nothing legible remains
_MIN_PX = 3.0  # type under 3 px (2.25 pt, 0.2 em) cannot be read
_OFFSET_PROPERTIES = ("left", "top", "right", "margin-left", "margin-top", "text-indent")
_LIGHT = 0.94  # each channel at least this (0-1): white to the eye on a white page
_HEX = re.compile(r"^#([0-9a-f]{3,8})$")
_FUNCTION = re.compile(r"^(rgba?|hsla?)\(([^)]*)\)")
_NAMED = {
    "white": "#ffffff", "snow": "#fffafa", "ghostwhite": "#f8f8ff", "whitesmoke": "#f5f5f5",
    "ivory": "#fffff0", "floralwhite": "#fffaf0", "mintcream": "#f5fffa", "azure": "#f0ffff",
    "seashell": "#fff5ee", "transparent": "#00000000",
}  # fmt: skip


def resolve_styles(soup: BeautifulSoup) -> dict[int, Style]:
    """Each element's declared style (sheet rules by specificity, then inline), by ``id``.

    Args:
        soup: The parsed page, ``<style>`` elements still in it.

    Returns:
        ``id(tag)`` -> property -> value (lower case), for elements that declare any.
    """
    matcher = cssselect2.Matcher()
    for style in soup.find_all("style"):
        _add_rules(matcher, tinycss2.parse_stylesheet(style.get_text(), True, True))
    root, tags = _mirror(soup)
    resolved: dict[int, Style] = {}
    for wrapper in cssselect2.ElementWrapper.from_html_root(root).iter_subtree():
        tag = tags[id(wrapper.etree_element)]
        normal: Style = {}
        important: Style = {}
        for _specificity, _order, pseudo, payload in matcher.match(wrapper):
            if pseudo is None:
                for name, value, is_important in payload:
                    (important if is_important else normal)[name] = value
        inline = tag.get("style")
        if isinstance(inline, str):
            for name, value, is_important in _declarations(tinycss2.parse_blocks_contents(inline)):
                (important if is_important else normal)[name] = value
        if normal or important:
            resolved[id(tag)] = normal | important
    return resolved


def _add_rules(matcher: cssselect2.Matcher, rules: list[object]) -> None:
    for rule in rules:
        if isinstance(rule, tinycss2.ast.AtRule) and rule.lower_at_keyword == "media":
            if "print" not in tinycss2.serialize(rule.prelude).lower() and rule.content:
                _add_rules(matcher, tinycss2.parse_rule_list(rule.content, True, True))
        elif isinstance(rule, tinycss2.ast.QualifiedRule):
            declarations = _declarations(tinycss2.parse_blocks_contents(rule.content))
            try:
                selectors = cssselect2.compile_selector_list(rule.prelude)
            except cssselect2.SelectorError:
                continue
            for selector in selectors:
                matcher.add_selector(selector, declarations)


def _declarations(nodes: list[object]) -> list[tuple[str, str, bool]]:
    return [
        (node.lower_name, tinycss2.serialize(node.value).strip().lower(), node.important)
        for node in nodes
        if isinstance(node, tinycss2.ast.Declaration)
    ]


def _mirror(soup: BeautifulSoup) -> tuple[ET.Element, dict[int, Tag]]:
    """An ElementTree copy of the page's elements (what cssselect2 reads), and the way back."""
    tags: dict[int, Tag] = {}

    def copy(tag: Tag) -> ET.Element:
        attributes = {
            name: " ".join(value) if isinstance(value, list) else str(value)
            for name, value in tag.attrs.items()
        }
        element = ET.Element(tag.name, attributes)
        tags[id(element)] = tag
        element.extend(copy(child) for child in tag.children if isinstance(child, Tag))
        return element

    top = soup.find("html")
    root = copy(top) if isinstance(top, Tag) else ET.Element("html")
    if not isinstance(top, Tag):
        tags[id(root)] = soup
        root.extend(copy(child) for child in soup.children if isinstance(child, Tag))
    return root, tags


def hides(style: Style) -> bool:
    """Whether a declared style makes its element's text invisible (colour aside)."""
    return (
        style.get("display") == "none"
        or style.get("visibility") in ("hidden", "collapse")
        or _fraction(style.get("opacity", "1")) < _ALMOST_ZERO
        or tiny_type(style.get("font-size", ""))
        or see_through(style.get("color", ""))
        or any(_pixels(style.get(name, "")) <= _OFF_PAGE_PX for name in _OFFSET_PROPERTIES)
        or _collapsed_box(style)
        or _clipped_away(style)
        or _scaled_away(style.get("transform", "") + " " + style.get("scale", ""))
    )


def is_hidden(tag: Tag, styles: dict[int, Style]) -> bool:
    """Whether the element is invisible: hidden attributes, classes or a style that hides it.

    Args:
        tag: The element.
        styles: What ``resolve_styles`` found, for the element and its ancestors.
    """
    if tag.has_attr("hidden") or tag.get("aria-hidden") == "true":
        return True
    if set(tag.get_attribute_list("class")) & HIDING_CLASSES:
        return True
    if tag.name == "font" and light(str(tag.get("color", ""))) and not _on_dark_ground(tag, styles):
        return True
    style = styles.get(id(tag))
    if not style:
        return False
    return hides(style) or (light(style.get("color", "")) and not _on_dark_ground(tag, styles))


def inline_style(declarations: str) -> Style:
    """A ``style`` attribute's declarations, ``!important`` ones winning."""
    normal: Style = {}
    important: Style = {}
    for name, value, is_important in _declarations(tinycss2.parse_blocks_contents(declarations)):
        (important if is_important else normal)[name] = value
    return normal | important


def light(colour: str) -> bool:
    """Whether a CSS colour is white or so near it that it vanishes on white."""
    rgba = _rgba(colour)
    return rgba is not None and min(rgba[:3]) >= _LIGHT


def see_through(colour: str) -> bool:
    """Whether a CSS colour paints nothing: ``transparent`` or an alpha near zero."""
    rgba = _rgba(colour)
    return rgba is not None and rgba[3] < _ALMOST_ZERO


def _rgba(colour: str) -> tuple[float, float, float, float] | None:
    """A CSS colour's red, green, blue and alpha (0-1); None when it is not one we read."""
    colour = colour.strip().lower()
    colour = _NAMED.get(colour, colour)
    if match := _HEX.match(colour):
        digits = match.group(1)
        digits = "".join(d * 2 for d in digits) if len(digits) in (3, 4) else digits
        if len(digits) not in (6, 8):
            return None
        values = [int(digits[i : i + 2], 16) / 255 for i in range(0, len(digits), 2)]
        return values[0], values[1], values[2], values[3] if len(values) == 4 else 1.0
    match = _FUNCTION.match(colour)
    parts = re.split(r"[\s,/]+", match.group(2).strip()) if match else []
    if len(parts) not in (3, 4) or not match:
        return None
    try:
        alpha = _fraction(parts[3], strict=True) if len(parts) == 4 else 1.0
        if match.group(1).startswith("rgb"):
            red, green, blue = (_fraction(p, strict=True, whole=255) for p in parts[:3])
        else:
            hue = float(parts[0].removesuffix("deg")) / 360 % 1
            saturation, lightness = (_fraction(p, strict=True) for p in parts[1:3])
            red, green, blue = colorsys.hls_to_rgb(hue, lightness, saturation)
    except ValueError:
        return None
    return red, green, blue, alpha


def _on_dark_ground(tag: Tag, styles: dict[int, Style]) -> bool:
    """Whether the element or an ancestor sets a background other than white."""
    for node in (tag, *tag.parents):
        if not isinstance(node, Tag):
            continue
        style = styles.get(id(node), {})
        ground = style.get("background-color") or style.get("background") or node.get("bgcolor")
        if not isinstance(ground, str) or not ground.strip():
            continue
        first = ground.strip().split()[0]
        if first in ("none", "inherit", "initial") or see_through(first):
            continue
        return not light(first)
    return False


def tiny_type(size: str) -> bool:
    """Whether a CSS font size is too small to read (under 3 px, 2.25 pt, 0.2 em, 20%)."""
    match = _NUMBER.match(size)
    if not match or match.group(1).count(".") > 1:
        return False
    value, unit = float(match.group(1)), match.group(2)
    limits = {"px": _MIN_PX, "pt": _MIN_PX * 0.75, "em": 0.2, "rem": 0.2, "%": 20.0, "": 0.0}
    return value == 0 or value < limits.get(unit, 0.0)


def _fraction(value: str, *, strict: bool = False, whole: float = 1.0) -> float:
    """``value`` as a share of ``whole`` ("50%" is 0.5); 1.0 when it is no number, or a
    ValueError when ``strict``."""
    match = _NUMBER.fullmatch(value.strip()) if strict else _NUMBER.match(value)
    if not match or match.group(1).count(".") > 1:
        if strict:
            raise ValueError(value)
        return 1.0
    number = float(match.group(1))
    return number / 100 if match.group(2) == "%" else number / whole


def _pixels(value: str) -> float:
    match = _NUMBER.match(value)
    if not match or match.group(1).count(".") > 1:
        return 0.0
    scale = {"px": 1.0, "": 1.0, "pt": 4 / 3, "em": 16.0, "rem": 16.0, "vw": 10.0, "cm": 38.0}
    return float(match.group(1)) * scale.get(match.group(2), 0.0)


def _collapsed_box(style: Style) -> bool:
    clipping = {style.get(n, "") for n in ("overflow", "overflow-x", "overflow-y")}
    if not clipping & {"hidden", "clip"} and not any(" hidden" in f" {v}" for v in clipping):
        return False
    return any(
        style.get(name, "").strip() in ("0", "0px", "0em", "0%")
        for name in ("height", "max-height", "width", "max-width")
    )


def _clipped_away(style: Style) -> bool:
    clip_path = style.get("clip-path", "")
    if clip_path.startswith("inset("):
        numbers = [_fraction(n) * 100 for n in re.findall(r"[\d.]+%", clip_path)]
        if numbers and max(numbers) >= 50:
            return True
    if re.match(r"circle\(\s*0", clip_path) or re.match(r"ellipse\(\s*0", clip_path):
        return True
    clip = style.get("clip", "")
    if clip.startswith("rect("):
        sizes = [float(n) for n in re.findall(r"-?[\d.]+", clip) if n.count(".") <= 1]
        return len(sizes) == 4 and max(sizes) <= 1
    return False


def _scaled_away(transform: str) -> bool:
    for name, arguments in re.findall(r"(scale[xyz3d]*|matrix)\(([^)]*)\)", transform):
        numbers = [float(n) for n in re.findall(r"-?[\d.]+", arguments) if n.count(".") <= 1]
        if name == "matrix":
            numbers = numbers[:1] + numbers[3:4]
        if numbers and min(abs(n) for n in numbers) < _ALMOST_ZERO:
            return True
    return False
