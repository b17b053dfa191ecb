"""Questions the service catalog answers: who owns it, what calls it, how critical it is.

Owners and dependencies come only from `incident-ops.yml`; nothing here guesses. A service
missing from the catalog simply has no owners and no edges.
"""

from __future__ import annotations

from collections.abc import Iterable

from incident_ops.config import Config

FALLBACK_OWNER = "incident commander"


def owners(config: Config, services: Iterable[str]) -> list[str]:
    """Catalog owners of `services`, in order, each once."""
    found: list[str] = []
    for name in services:
        service = config.services.get(name)
        if service:
            found += [owner for owner in service.owners if owner not in found]
    return found


def owner_for(config: Config, services: Iterable[str], fallback: str = FALLBACK_OWNER) -> str:
    """The first catalog owner of the first owned service, else a responder role."""
    found = owners(config, services)
    return found[0] if found else fallback


def dependencies(config: Config, name: str) -> list[str]:
    service = config.services.get(name)
    return list(service.depends_on) if service else []


def dependents(config: Config, name: str) -> list[str]:
    """Catalog services that call `name` directly."""
    return sorted(other for other, s in config.services.items() if name in s.depends_on)


def tier(config: Config, name: str) -> int | None:
    service = config.services.get(name)
    return service.tier if service else None


def is_external(config: Config, name: str) -> bool:
    service = config.services.get(name)
    return bool(service and service.external)


def most_critical_tier(config: Config, names: Iterable[str]) -> int | None:
    tiers = [t for t in (tier(config, n) for n in names if not is_external(config, n)) if t]
    return min(tiers) if tiers else None


def public_name(config: Config, name: str) -> str | None:
    """A plain word customers would recognise (the first alias without jargon), if any."""
    service = config.services.get(name)
    if not service:
        return None
    for alias in service.aliases:
        if alias.replace(" ", "").isalpha() and alias.islower():
            return alias
    return None


def edges_between(config: Config, names: Iterable[str]) -> list[tuple[str, str]]:
    """Catalog dependency edges (caller, callee) among `names`."""
    chosen = list(dict.fromkeys(names))
    return [
        (caller, callee)
        for caller in chosen
        for callee in dependencies(config, caller)
        if callee in chosen
    ]
