"""Turn the many ways evidence writes a moment into an aware UTC datetime.

Monitoring payloads, log lines and exports each pick their own format: RFC 3339 with or
without fractions, epoch seconds / milliseconds / nanoseconds (as numbers or strings),
syslog's yearless `Mar 17 10:50:00`, nginx's `09/Mar/2026:02:00:41 +0000`, Python logging's
`2026-03-06 16:00:02,337`. Unknown input gives None, never an exception: evidence is
untrusted and a bad timestamp must not stop the analysis.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_MONTHS = {
    name: number
    for number, name in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_NGINX = re.compile(r"(\d{2})/([A-Za-z]{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2})\s*([+-]\d{4})?")
_SYSLOG = re.compile(r"([A-Za-z]{3})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})")

# Epoch values outside this range are not timestamps (years ~1973..2286 in seconds).
_MIN_EPOCH_S = 1e8
_MAX_EPOCH_S = 1e10

# Go's zero time, used by Alertmanager for "no end yet".
_ZERO_YEAR = 1


def parse_time(value: object, year_hint: int | None = None) -> datetime | None:
    """Best-effort parse of `value` to an aware UTC datetime; None when it is not a time."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return from_epoch(float(value))
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if re.fullmatch(r"-?\d+(\.\d+)?", text):
        return from_epoch(float(text))
    if len(text) >= 19 and text[4] == "-" and text[10] in "T ":
        try:  # the common RFC 3339 case, parsed in C
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.year > _ZERO_YEAR:
                return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return parse_text_time(text, year_hint)


def from_epoch(number: float) -> datetime | None:
    """Seconds, milliseconds, microseconds or nanoseconds since 1970, told apart by size."""
    magnitude = abs(number)
    for divisor in (1.0, 1e3, 1e6, 1e9):
        seconds = number / divisor
        if _MIN_EPOCH_S <= abs(seconds) < _MAX_EPOCH_S:
            try:
                return datetime.fromtimestamp(seconds, tz=UTC)
            except (OverflowError, OSError, ValueError):
                return None
        if magnitude / divisor < _MIN_EPOCH_S:
            break
    return None


def parse_text_time(text: str, year_hint: int | None = None) -> datetime | None:
    """Find the first timestamp inside `text` (a log line prefix, a payload field)."""
    head = text[:64]
    match = _ISO.search(head)
    if match:
        return _from_iso_match(match)
    match = _NGINX.search(head)
    if match:
        return _from_nginx_match(match)
    match = _SYSLOG.match(head)
    if match and match.group(1).lower() in _MONTHS:
        year = year_hint or datetime.now(UTC).year
        try:
            return datetime(
                year,
                _MONTHS[match.group(1).lower()],
                int(match.group(2)),
                int(match.group(3)),
                int(match.group(4)),
                int(match.group(5)),
                tzinfo=UTC,
            )
        except ValueError:
            return None
    return None


def _from_iso_match(match: re.Match[str]) -> datetime | None:
    year, month, day, hour, minute = (int(match.group(i)) for i in range(1, 6))
    if year <= _ZERO_YEAR:
        return None
    second = int(match.group(6) or 0)
    fraction = (match.group(7) or "0")[:6].ljust(6, "0")
    try:
        moment = datetime(year, month, day, hour, minute, second, int(fraction), tzinfo=UTC)
    except ValueError:
        return None
    zone = (match.group(8) or "Z").upper()
    if zone not in ("Z", "UTC", "GMT"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4]))
        moment -= sign * offset
    return moment


def _from_nginx_match(match: re.Match[str]) -> datetime | None:
    month = _MONTHS.get(match.group(2).lower())
    if month is None:
        return None
    try:
        moment = datetime(
            int(match.group(3)),
            month,
            int(match.group(1)),
            int(match.group(4)),
            int(match.group(5)),
            int(match.group(6)),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    zone = match.group(7)
    if zone:
        sign = 1 if zone[0] == "+" else -1
        moment -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5]))
    return moment


def iso(moment: datetime | None) -> str:
    """Compact UTC rendering for reasons and summaries: 2026-03-02 13:55 UTC."""
    if moment is None:
        return "unknown time"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
