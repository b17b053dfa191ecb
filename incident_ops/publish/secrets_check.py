"""A second, independent opinion on a final artifact: Yelp's detect-secrets.

redact() is our own code; a blind spot in it would be a blind spot everywhere. Before an
artifact is published, detect-secrets scans it with its own rules. Any hit means the
publisher refuses to publish that artifact (fail closed).

The plugin set is detect-secrets' default minus three that judge text, not credentials:
the two high-entropy scanners flag every git SHA, trace id and UUID in incident text, and
the public-IP detector reports personal data, which RedactionSettings governs.

detect-secrets keeps its configuration in a process-wide singleton; a lock keeps two
threads from swapping it under each other. It is imported on first use, so commands that
never publish do not pay for it (it pulls in `requests`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

_NOISY_PLUGINS = frozenset({"Base64HighEntropyString", "HexHighEntropyString", "IPPublicDetector"})
_LOCK = threading.Lock()


def second_check(text: str) -> list[str]:
    """The kinds of secret detect-secrets sees in `text`, sorted and unique; [] means clean."""
    with _LOCK:
        return sorted(set(_scan(text)))


def _scan(text: str) -> Iterator[str]:
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import get_plugins, transient_settings

    plugin_classes: dict[str, Any] = get_mapping_from_secret_type_to_class()
    names = [plugin_class.__name__ for plugin_class in plugin_classes.values()]
    config = {"plugins_used": [{"name": n} for n in sorted(names) if n not in _NOISY_PLUGINS]}
    with transient_settings(config):
        plugins: list[Any] = get_plugins()
        for line in text.splitlines():
            # scan_line also applies detect-secrets' false-positive filters, which cost
            # about a millisecond a line; run them only where a plugin matched at all.
            if any(True for plugin in plugins for _ in plugin.analyze_string(line)):
                yield from (str(secret.type) for secret in scan_line(line))
