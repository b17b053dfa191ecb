"""A second, independent opinion on a final artifact: Yelp's detect-secrets.

redact() is our own code; a blind spot in it would be a blind spot everywhere. Before an
artifact is published, detect-secrets scans it with its own rules. Any hit means the
publisher refuses to publish that artifact (fail closed).

The plugin set is detect-secrets' default minus three that judge text, not credentials:
the two high-entropy scanners flag every git SHA, trace id and UUID in incident text, and
the public-IP detector reports personal data, which RedactionSettings governs. Its
keyword rule stays, less the hits whose key names something about a credential
(`secret_name = "orders-db"`), which would otherwise block fix plans and runbooks.

detect-secrets keeps its configuration in a process-wide singleton; a lock keeps two
threads from swapping it under each other. It is imported on first use, so commands that
never publish do not pay for it (it pulls in `requests`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from incident_ops.publish.credentials import describes_a_credential

_KEY_BEFORE_VALUE = re.compile(r"(?P<key>[\w.-]+)[\"'\]]*\s*(?::=|=>|==|=|:)\s*[\"'\[]*\Z")
_NOISY_PLUGINS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"})
_LOCK = threading.Lock()


def second_check(text: str) -> list[str]:
    """The kinds of secret detect-secrets sees in `text`, sorted and unique; [] means clean."""
    lines = list(dict.fromkeys(text.splitlines()))
    with _LOCK:
        verdicts = {line: _KINDS_BY_LINE[line] for line in lines if line in _KINDS_BY_LINE}
        scanned = dict(_scan([line for line in lines if line not in verdicts]))
        _remember(scanned)
        verdicts.update(scanned)
    return sorted({kind for kinds in verdicts.values() for kind in kinds})


# detect-secrets judges each line on its own, and a run's artifacts and requests repeat
# most of their lines (the status comment, the record, results handed to every phase):
# each line's verdict is remembered. A line forgotten is only scanned again.
_KINDS_BY_LINE: dict[str, tuple[str, ...]] = {}
_REMEMBERED_CHARS = 20_000_000
_remembered_chars = 0


def _remember(scanned: dict[str, tuple[str, ...]]) -> None:  # with _LOCK held
    """Keep the verdicts of lines just scanned (none of them is remembered yet)."""
    global _remembered_chars
    size = sum(len(line) for line in scanned)
    if _remembered_chars + size > _REMEMBERED_CHARS:
        _KINDS_BY_LINE.clear()  # forgetting only costs a scan again
        _remembered_chars = 0
    _KINDS_BY_LINE.update(scanned)
    _remembered_chars += size


def _scan(lines: list[str]) -> Iterator[tuple[str, tuple[str, ...]]]:
    """Each line with the kinds of secret found in it."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import get_plugins, transient_settings

    plugin_classes: dict[str, Any] = get_mapping_from_secret_type_to_class()
    names = [plugin_class.__name__ for plugin_class in plugin_classes.values()]
    config = {"plugins_used": [{"name": n} for n in sorted(names) if n not in _NOISY_PLUGINS]}
    with transient_settings(config):
        plugins: list[Any] = get_plugins()
        for line in lines:
            # scan_line also applies detect-secrets' false-positive filters, which cost
            # about a millisecond a line; run them only where a plugin matched at all.
            if not any(True for plugin in plugins for _ in plugin.analyze_string(line)):
                yield line, ()
                continue
            kinds = (
                str(secret.type)
                for secret in scan_line(line)
                if not _keyword_about_a_credential(line, secret)
            )
            yield line, tuple(kinds)


def _keyword_about_a_credential(line: str, secret: Any) -> bool:
    """`secret_name = "orders-db"`, `password_policy = "strict"`: not a credential.

    detect-secrets' keyword rule flags any quoted value after a key containing `secret`,
    `password` and the like; a key that names something about a credential is let go.
    Anything less clear stays a hit.
    """
    value = secret.secret_value
    if secret.type != "Secret Keyword" or not isinstance(value, str) or value not in line:
        return False
    key = _KEY_BEFORE_VALUE.search(line, 0, line.index(value))
    return key is not None and describes_a_credential(key.group("key"))
