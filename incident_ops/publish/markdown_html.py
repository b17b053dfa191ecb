"""Raw HTML in markdown we publish, reduced to a small allowlist.

Allowed tags are rebuilt from scratch with only the attributes they need, so an event
handler or a style never survives. Script-like elements go with their content. Any other
tag is escaped (`&lt;div hidden>`): shown as the text it is, never rendered. HTML comments
go too, since they hide text from readers, except our own markers such as
`<!-- incident-ops:status -->`, which the tool needs to find its comments again.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

UrlCheck = Callable[[str], bool]

ALLOWED_TAGS = frozenset(
    {"details", "summary", "br", "sub", "sup", "kbd", "b", "strong", "i", "em", "code", "pre"}
    | {"p", "hr", "ins", "del", "s", "a", "img"}
)
_VOID_TAGS = frozenset({"br", "hr", "img"})
# Elements whose content is code, styling or a foreign document, never prose for a reader.
_REMOVED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "object", "embed", "applet", "noscript", "noembed"}
    | {"noframes", "template", "textarea", "title", "svg", "math", "xmp", "plaintext"}
    | {"frameset", "frame", "select", "head"}
)
_MARKER_COMMENT = re.compile(r"<!--[ \t]{0,4}incident-ops:[A-Za-z0-9:._/=#-]{1,200}[ \t]{0,4}-->")
_TAG = re.compile(
    r"<(?P<close>/)?(?P<name>[A-Za-z][A-Za-z0-9-]{0,30})"
    r"(?P<attrs>(?:\s{1,20}[A-Za-z_:][\w.:-]{0,60}"
    r"(?:\s{0,20}=\s{0,20}(?:\"[^\"]{0,4000}\"|'[^']{0,4000}'|[^\s\"'=<>`]{1,4000}))?){0,50}+)"
    r"\s{0,20}/?>"
)
# Kept as they are: our markers, and autolinks (`<https://...>`, judged with the links).
_MARKUP = re.compile(
    rf"(?P<kept>{_MARKER_COMMENT.pattern}|<[A-Za-z][A-Za-z0-9+.-]{{1,31}}:[^\s<>]{{0,4000}}>)"
    rf"|(?P<tag>{_TAG.pattern})"
    r"|<"
)
_ATTRIBUTE = re.compile(
    r"(?P<name>[A-Za-z_:][\w.:-]*)(?:\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)'|(?P<bare>[^\s\"'=<>`]+)))?"
)
_DIMENSION = re.compile(r"\d{1,4}%?")


def remove_comments(text: str) -> str:
    """Drop `<!-- ... -->` (and any unclosed `<!--`), keeping incident-ops markers."""
    parts: list[str] = []
    position = 0
    closers_left = True
    while (start := text.find("<!--", position)) >= 0:
        parts.append(text[position:start])
        marker = _MARKER_COMMENT.match(text, start)
        if marker:
            parts.append(marker.group())
            position = marker.end()
            continue
        end = _comment_end(text, start) if closers_left else -1
        if end < 0:
            closers_left = False  # no `-->` after here: every later opener is unclosed too
            position = start + 4  # drop the opener; what followed it stays visible
        else:
            position = end
    parts.append(text[position:])
    return "".join(parts)


def _comment_end(text: str, start: int) -> int:
    """Where the comment opened at `start` ends; `<!-->` and `<!--->` are complete."""
    for short in ("<!-->", "<!--->"):
        if text.startswith(short, start):
            return start + len(short)
    close = text.find("-->", start + 4)
    return close + 3 if close >= 0 else -1


def reduce_html(text: str, allows_url: UrlCheck) -> str:
    """Rebuild allowed tags, drop script-like elements, escape every other `<`.

    Escaping covers more than well-formed tags: inside an HTML block GitHub passes text
    through raw, and a browser turns `<!x`, `<?` or an unclosed `<img ...` into a comment
    or an element that swallows the text after it. A lone `<` is escaped too: removing an
    element can leave one right before a letter (`<<script>x</script>img ...`).
    """
    parts: list[str] = []
    position = 0
    unclosed: set[str] = set()  # names with no closing tag further on: never search again
    for match in _MARKUP.finditer(text):
        if match.start() < position:
            continue  # inside an element removed with its content
        parts.append(text[position : match.start()])
        position = match.end()
        if match.group("kept") is not None:
            parts.append(match.group())
            continue
        if match.group("tag") is None:
            parts.append("&lt;")
            continue
        name = match.group("name").lower()
        if name in _REMOVED_WITH_CONTENT and not match.group("close"):
            if name not in unclosed:
                position = _end_of_element(text, name, match.end())
                if position == match.end():
                    unclosed.add(name)
        elif name in ALLOWED_TAGS:
            parts.append(_rebuild(name, match, allows_url))
        elif name not in _REMOVED_WITH_CONTENT:  # a stray closing tag of those just goes
            parts.append("&lt;" + match.group()[1:])
    parts.append(text[position:])
    return "".join(parts)


def _end_of_element(text: str, name: str, after_open: int) -> int:
    closing = re.compile(rf"</{name}\s{{0,20}}>", re.IGNORECASE)
    found = closing.search(text, after_open)
    return found.end() if found else after_open


def _rebuild(name: str, match: re.Match[str], allows_url: UrlCheck) -> str:
    if match.group("close"):
        return "" if name in _VOID_TAGS else f"</{name}>"
    attributes = _attributes(match.group("attrs"))
    kept: list[str] = []
    if name == "details" and "open" in attributes:
        kept.append("open")
    elif name == "a":
        href = attributes.get("href", "")
        if not href or not allows_url(href):
            return ""
        kept.append(f'href="{html.escape(href)}"')
    elif name == "img":
        src = attributes.get("src", "")
        if not src or not allows_url(src):
            return ""
        kept.append(f'src="{html.escape(src)}"')
        kept += [
            f'{key}="{html.escape(attributes[key])}"'
            for key in ("alt", "width", "height")
            if key in attributes and (key == "alt" or _DIMENSION.fullmatch(attributes[key]))
        ]
    return "<" + " ".join([name, *kept]) + ">"


def _attributes(source: str) -> dict[str, str]:
    """Attribute names (lowercased) and their entity-decoded values; the first one wins."""
    found: dict[str, str] = {}
    for attribute in _ATTRIBUTE.finditer(source):
        raw = attribute.group("dq") or attribute.group("sq") or attribute.group("bare") or ""
        found.setdefault(attribute.group("name").lower(), html.unescape(raw))
    return found
