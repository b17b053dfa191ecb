"""Links and images in markdown we publish: only to allowed hosts.

A link or image elsewhere could carry data out (an image is fetched the moment someone
opens the page) or lure a responder. Such URLs are defanged the way security teams
write indicators, `hxxps://evil[.]example/x`: still readable, never fetched or followed,
whether GitHub ends up treating the spot as prose or as code.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}:")
_INLINE_DESTINATION = re.compile(
    r"\]\([ \t]{0,20}(?:<(?P<angle>[^<>\n]{0,4000})>"
    r"|(?P<plain>(?:[^\s()]|\((?:[^\s()]|\([^\s()]{0,500}\)){0,500}\)){0,4000}+))"
    r"(?P<title>[ \t\n]{1,20}(?:\"[^\"\n]{0,500}\"|'[^'\n]{0,500}'|\([^()\n]{0,500}\)))?"
    r"[ \t]{0,20}\)"
)
_AUTOLINK = re.compile(r"<(?P<url>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]{0,4000})>")
# A URL GitHub would autolink; it ends where another scheme (or a defanged one) starts,
# so that in `https://github.com/x)https://evil.example` each URL is judged on its own.
_BARE_URL = re.compile(
    r"(?i:(?:https?|ftp)://|www\.|(?<=[(<\"'=])//(?=[A-Za-z0-9-]{1,63}\.))"
    r"(?:(?!(?i:h(?:tt|xx)ps?|f[tx]p)://)[^\s<>\"'`]){0,4000}"
)
_DEFINITION = re.compile(
    r"^(?P<indent> {0,3})\[(?P<label>[^\]\n]{1,999})\]:[ \t]*(?P<dest><[^<>\n]*>|\S+)(?P<rest>.*)$",
    re.MULTILINE,
)
_LINK_STARTS = re.compile(r"(?i:https?(?=://)|ftp(?=://)|www\.)")
_HOST = re.compile(r"(?P<prefix>(?:[A-Za-z][A-Za-z0-9+.-]{0,31}:)?//)?(?P<host>[^/?#\s]*)")


@dataclass(frozen=True)
class LinkPolicy:
    """Which URLs may stay clickable: relative ones, and http(s) to an allowed host."""

    hosts: frozenset[str]

    @classmethod
    def of(cls, hosts: Iterable[str]) -> LinkPolicy:
        return cls(frozenset(h.strip().lower().rstrip(".") for h in hosts if h.strip()))

    def allows(self, url: str) -> bool:
        url = url.strip()
        if not url or "\\" in url or any(c.isspace() or ord(c) < 0x20 for c in url):
            return False  # browsers read `\` as `/`; Python's URL parser does not
        scheme = _SCHEME.match(url)
        if scheme is None and not url.startswith("//"):
            return True  # relative: resolves inside the repository on GitHub
        if scheme is not None and scheme.group().lower() not in ("http:", "https:"):
            return False
        try:
            host = urlsplit(url if scheme else "https:" + url).hostname
        except ValueError:
            return False
        host = (host or "").rstrip(".")
        return bool(host) and any(host == h or host.endswith("." + h) for h in self.hosts)


def defang(url: str) -> str:
    """`https://evil.example/x` -> `hxxps://evil[.]example/x`: readable, not a link.

    A URL glued to another (`a.example)https://b.example`) is matched as one; every
    scheme and `www.` in it is defanged, not just the first.
    """
    match = _HOST.match(url)
    if match is not None:
        host = match.group("host").replace(".", "[.]")
        url = url[: match.start("host")] + host + url[match.end("host") :]
    return _LINK_STARTS.sub(_defang_start, url)


def _defang_start(match: re.Match[str]) -> str:
    start = match.group()
    if start.lower() == "www.":
        return start[:3] + "[.]"
    return start[0] + "xx" + start[3:] if start[0] in "hH" else start[0] + "x" + start[2:]


def defang_links(text: str, policy: LinkPolicy) -> str:
    """Apply every link rule: inline links and images, autolinks, definitions, bare URLs."""
    text = _INLINE_DESTINATION.sub(lambda m: _inline(m, policy), text)
    text = _AUTOLINK.sub(lambda m: m.group() if policy.allows(m["url"]) else defang(m["url"]), text)
    text = _DEFINITION.sub(lambda m: _definition(m, policy), text)
    return _BARE_URL.sub(lambda m: _bare(m.group(), policy), text)


def _bare(url: str, policy: LinkPolicy) -> str:
    """A bare URL GitHub would autolink; `www.` ones are read as https, as GitHub does."""
    absolute = "https://" + url if url[:4].lower() == "www." else url
    return url if policy.allows(absolute) else defang(url)


def _inline(match: re.Match[str], policy: LinkPolicy) -> str:
    """`[text](url)` or `![alt](url)` to a foreign URL loses its link: `[text] (hxxps://..)`."""
    url = match.group("angle") if match.group("angle") is not None else match.group("plain")
    if policy.allows(url):
        return match.group()
    return f"] ({defang(url)}{match.group('title') or ''})"


def _definition(match: re.Match[str], policy: LinkPolicy) -> str:
    """A reference definition renders as nothing, so it can hide text (`[//]: # (note)`).

    Only a plain definition of an allowed URL stays; any other is escaped into plain,
    visible text.
    """
    url = match.group("dest").strip("<>")
    if policy.allows(url) and not match.group("rest").strip():
        return match.group()
    indent = match.group("indent")
    return indent + "\\" + match.group()[len(indent) :]
