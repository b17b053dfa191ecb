"""The service catalog as the evidence layer sees it: names, aliases and the dependency graph.

Evidence names services in many shapes: prose ("checkout is failing"), alert labels
(`service="checkout-api"`), pod names (`checkout-api-7f5c9d8b6-kx8wz`), host names
(`pgbouncer-payments.shop.svc`, `api.stripe.com`), database labels (`database="orders"`)
and file names (`api-gateway-access.log`). `Catalog` maps each back to a catalog service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from incident_ops.config import Config, Service
from incident_ops.publish.findings import MARKER_PATTERN

# Kubernetes appends a replica-set hash and a pod suffix: checkout-api-7f5c9d8b6-kx8wz.
_POD_SUFFIX = re.compile(r"-(?=[a-z0-9]*\d)[a-z0-9]{4,10}$")
_WORD = r"A-Za-z0-9_"


def _without_markers(text: str) -> str:
    """`text` with redaction markers blanked, same length: `[REDACTED:stripe-key]` or
    `[REDACTED:email]` names what was removed, not a service the text is about."""
    if "[REDACTED:" not in text:
        return text
    return MARKER_PATTERN.sub(lambda match: " " * len(match.group()), text)


def _normalise(term: str) -> str:
    return re.sub(r"[\s_-]+", " ", term.lower().strip())


@dataclass(frozen=True)
class Mention:
    service: str
    start: int
    end: int
    text: str


class Catalog:
    """Read-only view of `config.services` with name resolution and graph walks."""

    def __init__(self, config: Config) -> None:
        self.services: dict[str, Service] = dict(config.services)
        self._terms: dict[str, str] = {}
        for name, service in self.services.items():
            self._terms[name.lower()] = name
            for alias in service.aliases:
                self._terms.setdefault(alias.lower().strip(), name)
        self._normal = {_normalise(term): name for term, name in self._terms.items()}

    @cached_property
    def _mention_pattern(self) -> re.Pattern[str] | None:
        terms = sorted((t for t in self._terms if t), key=len, reverse=True)
        if not terms:
            return None
        alternation = "|".join(re.escape(term).replace(r"\ ", r"[\s_-]+") for term in terms)
        # a plural ("logins", "the databases") names the same service
        return re.compile(rf"(?<![{_WORD}])(?:{alternation})(?:e?s)?(?![{_WORD}])", re.IGNORECASE)

    def mentions(self, text: str) -> list[Mention]:
        """Every catalog name or alias in `text`, longest match first at each position."""
        pattern = self._mention_pattern
        if pattern is None or not text:
            return []
        found = []
        for match in pattern.finditer(_without_markers(text)):
            text = match.group(0)
            service = self._normal.get(_normalise(text))
            for suffix in ("s", "es"):
                if service is None and text.lower().endswith(suffix):
                    service = self._normal.get(_normalise(text[: -len(suffix)]))
            if service:
                found.append(Mention(service, match.start(), match.end(), match.group(0)))
        return found

    def resolve(self, value: str, *, database: bool = False) -> str | None:
        """The catalog service an identifier (label value, host, pod, file stem) names."""
        raw = value.strip().lower()
        if not raw or len(raw) > 253:
            return None
        direct = self._terms.get(raw)
        if direct:
            return direct
        if database:
            for candidate in (f"{raw}-db", f"{raw}-database", f"{raw} database", f"{raw}db"):
                if candidate in self._terms:
                    return self._terms[candidate]
        if "/" in raw:  # namespace/pod or a path: the last part names the workload
            return self.resolve(raw.rstrip("/").rsplit("/", 1)[-1], database=database)
        if "." in raw and not raw.replace(".", "").isdigit():
            labels = [label for label in raw.split(".") if label]
            for label in labels[:-1] or labels:
                found = self._terms.get(label) or self._strip_pod(label)
                if found:
                    return found
            return None
        return self._strip_pod(raw) or self._drop_trailing_words(raw)

    def _strip_pod(self, name: str) -> str | None:
        current = name
        for _ in range(2):
            stripped = _POD_SUFFIX.sub("", current)
            if stripped == current:
                break
            current = stripped
            if current in self._terms:
                return self._terms[current]
        return None

    def _drop_trailing_words(self, name: str) -> str | None:
        parts = re.split(r"[-_]", name)
        for size in range(len(parts) - 1, 0, -1):
            candidate = "-".join(parts[:size])
            if candidate in self._terms:
                return self._terms[candidate]
        return None

    def resolve_file(self, file_name: str) -> str | None:
        """The service a file is about, from its name: `api-gateway-access.log`."""
        stem = file_name.rsplit("/", 1)[-1].split(".", 1)[0]
        found = self.resolve(stem)
        if found:
            return found
        hits = self.mentions(stem.replace("_", "-"))
        return hits[0].service if hits else None

    # --- the dependency graph ---------------------------------------------------------
    def depends_on(self, name: str) -> list[str]:
        service = self.services.get(name)
        return [dep for dep in service.depends_on if dep in self.services] if service else []

    def dependencies(self, name: str) -> set[str]:
        """Everything `name` calls, directly or transitively."""
        seen: set[str] = set()
        stack = list(self.depends_on(name))
        while stack:
            current = stack.pop()
            if current in seen or current == name:
                continue
            seen.add(current)
            stack.extend(self.depends_on(current))
        return seen

    def dependents(self, name: str) -> set[str]:
        """Everything that calls `name`, directly or transitively (its blast radius)."""
        seen: set[str] = set()
        stack = [other for other in self.services if name in self.depends_on(other)]
        while stack:
            current = stack.pop()
            if current in seen or current == name:
                continue
            seen.add(current)
            stack.extend(o for o in self.services if current in self.depends_on(o))
        return seen

    def tier(self, name: str) -> int | None:
        service = self.services.get(name)
        if service is None or service.external:
            return None
        return service.tier

    def is_external(self, name: str) -> bool:
        service = self.services.get(name)
        return bool(service and service.external)

    def entry_points(self) -> list[str]:
        """Customer-facing services nothing else calls: what a user sees of the system."""
        called = {dep for name in self.services for dep in self.depends_on(name)}
        return sorted(
            name
            for name, service in self.services.items()
            if not service.external and service.tier == 1 and name not in called
        )
