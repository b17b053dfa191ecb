"""Where untrusted text enters the analysis: redacted once, before anything splits it.

Every later step cuts text (sentences, log templates, 300-character examples, prompt
lines). A cut can turn a secret into a fragment no redaction pattern recognises: one line
of a private key without its BEGIN line, the tail of a token past a length limit. So the
issue, the comments and every evidence string are redacted here, whole, before any of
that happens; the later passes stay as defence in depth.

Free text (prose, logs) is redacted as it stands, so a private key keeps its lines
together. Structured data (JSON, YAML, metric labels) is redacted value by value after
decoding: an escape such as `\\/` would hide a token from a scan of the raw bytes, and a
marker written into raw JSON could break its quoting. Each value is scanned with its key
beside it (`"client_secret": "..."`), so a credential named only by its key is still found.

Redaction keeps what it does not remove: two keys that redact to the same marker both
stay (the later one suffixed), and JSON redacted as free text (a log line, a payload
pasted in a comment) still decodes with `loads_redacted`, the marker a number became
read as a string. Numbers that look like card numbers stay redacted (fail closed).
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from typing import Any

from incident_ops.evidence.records import Series
from incident_ops.publish.findings import MARKER_PATTERN, Finding, marker
from incident_ops.publish.redact import apply_findings, find_sensitive, redact

__all__ = ["clean_data", "clean_series", "clean_text", "loads_redacted"]

# What decides whether a marker stands inside a JSON string: escapes, quotes, markers.
# Each token has a bounded length, so one left-to-right pass reads any input in linear time.
_JSON_TOKEN = re.compile(r'\\.|"|' + MARKER_PATTERN.pattern, re.DOTALL)


def clean_text(text: str) -> str:
    """Free text with every credential and personal datum replaced by its marker."""
    return redact(text)


def loads_redacted(text: str) -> Any:
    """`json.loads` for JSON that was redacted as free text (a log line, a pasted payload).

    A number that looked like a card becomes a bare `[REDACTED:card-number]`, which is no
    longer JSON; such markers are read as strings, so the rest of the record still counts.
    Markers inside strings are left alone. Raises ValueError, as json.loads does, when the
    text still does not decode.
    """
    try:
        return json.loads(text)
    except ValueError:
        if "[REDACTED:" not in text:
            raise
    return json.loads(_quote_bare_markers(text))


def _quote_bare_markers(text: str) -> str:
    """`text` with each marker that stands outside a JSON string written as a string."""
    parts: list[str] = []
    position = 0
    in_string = False
    for match in _JSON_TOKEN.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif token[0] == "[" and not in_string:
            parts += [text[position : match.start()], f'"{token}"']
            position = match.end()
    parts.append(text[position:])
    return "".join(parts)


def clean_series(series: list[Series]) -> None:
    """Metric names and labels redacted in place, in one pass over all of them."""
    cleaned = clean_data([[item.name, item.family, item.labels] for item in series])
    for item, (name, family, labels) in zip(series, cleaned, strict=True):
        item.name, item.family, item.labels = name, family, labels


@dataclass
class _Slot:
    """One scalar of a decoded structure beside its key, as a line the redactor reads."""

    line: str
    parent: Any  # the dict or list holding it
    where: Any  # its key or index in `parent`
    scalar: bool  # False for a container, which is shown as null and keeps its value
    key: Any
    value: Any
    keyed: bool


# (mapping, old key, new key): a key redaction changed, applied once all are known.
_Rename = tuple[dict[Any, Any], Any, Any]


def clean_data(value: Any) -> Any:
    """A decoded JSON or YAML value with every string (and key) redacted.

    Two passes, each one scan over everything: the decoded strings themselves (so an
    escape cannot hide a token, and `{"password":"x"}` quoted inside a message is read as
    written), then each scalar beside its key as a JSON line (so `"client_secret": "..."`
    is caught by its key). Values keep their types unless redaction touched them; a line
    the redactor changed in a way that no longer decodes (a marker inside an escape, a
    number that looked like a card) becomes the marker itself: it fails closed.
    """
    root: list[Any] = [value]
    _clean_strings(root)
    slots: list[_Slot] = []
    _collect(root, 0, None, slots)
    lines = [slot.line for slot in slots]
    touched = _findings_per_line(lines, find_sensitive("\n".join(lines)))
    renames: list[_Rename] = []
    for index, findings in touched.items():
        slot = slots[index]
        key, cleaned = _decode(slot, apply_findings(slot.line, findings), findings[0].kind)
        if slot.scalar:
            slot.parent[slot.where] = cleaned
        if isinstance(slot.parent, dict) and key != slot.where:
            renames.append((slot.parent, slot.where, key))
    _rename_keys(renames)
    return root[0]


def _clean_strings(root: list[Any]) -> None:
    """Every string and string key under `root`, redacted as decoded, in place."""
    places: list[tuple[Any, Any, bool]] = []  # (container, key or index, is it the key)
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, where = stack.pop()
        node = parent[where]
        # Children are pushed last first, so strings are read in document order: a
        # private key given as a list of lines stays one block to the redactor.
        if isinstance(node, dict):
            places.extend((node, key, True) for key in node if isinstance(key, str))
            stack.extend((node, key) for key in reversed(list(node)))
        elif isinstance(node, list):
            stack.extend((node, index) for index in reversed(range(len(node))))
        elif isinstance(node, str):
            places.append((parent, where, False))
    texts = [where if is_key else parent[where] for parent, where, is_key in places]
    renames: list[_Rename] = []
    for index, findings in _findings_per_line(texts, find_sensitive("\n".join(texts))).items():
        parent, where, is_key = places[index]
        cleaned = apply_findings(texts[index], findings)
        if is_key:
            renames.append((parent, where, cleaned))
        else:
            parent[where] = cleaned  # under the old key: keys are renamed after all values
    _rename_keys(renames)


def _collect(parent: Any, where: Any, key: Any, slots: list[_Slot]) -> None:
    """Walk `parent[where]`; `key` is the mapping key it sits under, if any."""
    node = parent[where]
    if isinstance(node, dict):
        for item_key in list(node):
            _collect(node, item_key, item_key, slots)
        return
    if isinstance(node, list):
        for index in range(len(node)):
            _collect(node, index, None, slots)
        return
    scalar = isinstance(node, str) or (isinstance(node, int | float) and not isinstance(node, bool))
    keyed = isinstance(key, str)
    if not scalar and not keyed:
        return
    shown = _dumps(node) if scalar else "null"
    line = f"{_dumps(key)}: {shown}" if keyed else shown
    slots.append(_Slot(line, parent, where, scalar, key, node, keyed))


def _rename_keys(renames: list[_Rename]) -> None:
    """Each mapping's redacted keys renamed in one rebuild, in place, keeping key order.

    Distinct keys can redact to the same marker (two tokens, two emails); a plain rename
    would let the later overwrite the earlier and lose its value. So a renamed key that
    collides gets a suffix, `[REDACTED:email]#2`, `#3`..., in document order. Keys that
    were not renamed keep their exact name: a reader may look them up.
    """
    per_mapping: dict[int, tuple[dict[Any, Any], dict[Any, Any]]] = {}
    for mapping, old, new in renames:
        per_mapping.setdefault(id(mapping), (mapping, {}))[1][old] = new
    for mapping, new_names in per_mapping.values():
        taken = {key for key in mapping if key not in new_names}
        last_suffix: dict[Any, int] = {}
        items = []
        for key, value in mapping.items():
            if key in new_names:
                key = _free_name(new_names[key], taken, last_suffix)
                taken.add(key)
            items.append((key, value))
        mapping.clear()
        mapping.update(items)


def _free_name(name: Any, taken: set[Any], last_suffix: dict[Any, int]) -> Any:
    """`name`, or `name#2`, `#3`... whichever is first free; counting on from the last used."""
    if name not in taken:
        return name
    number = last_suffix.get(name, 1)
    while True:
        number += 1
        candidate = f"{name}#{number}"
        if candidate not in taken:
            last_suffix[name] = number
            return candidate


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _findings_per_line(lines: list[str], findings: list[Finding]) -> dict[int, list[Finding]]:
    """Each finding of the joined lines, cut to the lines it covers, in line coordinates."""
    starts: list[int] = []
    position = 0
    for line in lines:
        starts.append(position)
        position += len(line) + 1
    per_line: dict[int, list[Finding]] = {}
    for finding in findings:
        index = bisect.bisect_right(starts, finding.start) - 1
        while index < len(lines) and starts[index] < finding.end:
            begin = max(finding.start - starts[index], 0)
            end = min(finding.end - starts[index], len(lines[index]))
            if begin < end:
                local = Finding(finding.kind, begin, end, finding.category)
                per_line.setdefault(index, []).append(local)
            index += 1
    return per_line


def _decode(slot: _Slot, redacted: str, kind: str) -> tuple[Any, Any]:
    """The slot's (key, value) read back from its redacted line, or markers if it breaks."""
    try:
        if slot.keyed:
            decoded = json.loads("{" + redacted + "}")
            if isinstance(decoded, dict) and len(decoded) == 1:
                return next(iter(decoded.items()))
        else:
            return slot.key, json.loads(redacted)
    except ValueError:
        pass
    key = redact(slot.key) if slot.keyed else slot.key
    return key, marker(kind)
