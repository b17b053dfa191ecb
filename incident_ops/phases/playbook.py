"""General engineering practice per incident type: the recommendations offline phases
offer when the evidence says what kind of incident this is but not (yet) what to do.

Everything here is a recommendation, phrased as one, and never a claim about the incident.
Texts may name `{service}`, filled with the most relevant catalog service.
"""

from __future__ import annotations

from typing import Literal

from incident_ops.model import IncidentType

MitigationKind = Literal[
    "rollback",
    "feature-flag",
    "config-revert",
    "traffic",
    "circuit-breaker",
    "scaling",
    "failover",
    "access-revocation",
    "containment",
    "data-protection",
    "restart",
    "certificate",
    "free-capacity",
]

# (kind, action, risk) tried in order for each incident type.
MITIGATIONS: dict[IncidentType, list[tuple[MitigationKind, str, str]]] = {
    "performance-degradation": [
        ("traffic", "Shed or rate-limit non-essential traffic to {service} to protect the "
         "critical path", "some requests are refused on purpose"),
        ("scaling", "Scale out {service} (or its saturated resource) if a capacity limit is "
         "confirmed", "does not help when the bottleneck is a shared resource behind it"),
        ("circuit-breaker", "Tighten timeouts and open a circuit breaker on the slow "
         "dependency of {service} so callers fail fast", "fast failures are visible to users"),
    ],
    "service-outage": [
        ("failover", "Fail over or reroute traffic for {service} to healthy instances or "
         "another region if one is available", "the healthy side must have the capacity"),
        ("restart", "Replace unhealthy {service} instances to buy time while the cause is "
         "confirmed", "treats the symptom; the fault may return"),
    ],
    "security-incident": [
        ("access-revocation", "Revoke the affected credentials and sessions and rotate "
         "secrets used by {service}", "legitimate clients using them stop working"),
        ("containment", "Block the offending sources (IPs, ASNs, user agents) at the WAF or "
         "gateway in front of {service}", "an attacker may move to other sources"),
        ("containment", "Disable the affected account or endpoint until the scope of access "
         "is known", "dependent jobs stop until it is re-enabled"),
    ],
    "data-integrity": [
        ("data-protection", "Stop the writes that corrupt data in {service} (pause the job, "
         "flag or migration) before repairing anything", "the paused feature is unavailable"),
        ("data-protection", "Pause downstream operations that act on the wrong data (e.g. "
         "payouts, refunds, emails)", "delays legitimate operations"),
        ("data-protection", "Take a snapshot or point-in-time copy before any repair, so the "
         "repair itself can be undone", "storage and time for the copy"),
    ],
    "infrastructure-failure": [
        ("failover", "Cordon and drain the failing node or zone so {service} runs on "
         "healthy capacity", "less headroom until the node is back"),
        ("scaling", "Add capacity for {service} elsewhere while the failing infrastructure "
         "is repaired", "cost, and time to warm caches or indexes"),
    ],
    "third-party-disruption": [
        ("circuit-breaker", "Open a circuit breaker on the provider call in {service} and "
         "show a clear retry-later message", "users see a deliberate failure"),
        ("traffic", "Reduce client retries to the provider so retries do not amplify its "
         "outage", "fewer requests succeed by chance"),
        ("failover", "Switch to a secondary provider or queue the work for later if "
         "{service} supports it", "secondary paths are rarely exercised"),
    ],
}  # fmt: skip

AVOID: dict[IncidentType, list[str]] = {
    "performance-degradation": [
        "Restarting every instance at once: cold caches and connection storms can make it worse.",
    ],
    "service-outage": [
        "Shipping several changes at once: one reversible step at a time keeps cause and "
        "effect readable.",
    ],
    "security-incident": [
        "Wiping or redeploying affected hosts before logs and audit trails are preserved.",
        "Discussing details in public channels before the scope is known.",
    ],
    "data-integrity": [
        "Ad-hoc repairs without a backup and a dry run on a copy.",
    ],
    "infrastructure-failure": [
        "Deleting data to free space before knowing what it is and whether it is needed.",
    ],
    "third-party-disruption": [
        "Raising retry counts or timeouts towards the failing provider.",
    ],
}

# Failure signatures in machine evidence and the targeted mitigation each one calls for:
# (pattern, kind, action, risk).
SIGNATURES: list[tuple[str, MitigationKind, str, str]] = [
    (r"certificate (has )?expired|cert.{0,20}expir|x509|bad certificate",
     "certificate", "Renew or replace the expired certificate on {service}'s endpoint and "
     "reload the listener", "a wrong chain or name breaks clients too; verify with a probe"),
    (r"no space left|disk full|nodefs|filesystem.{0,20}(full|avail)",
     "free-capacity", "Free disk space where {service} runs (after checking what fills it) or "
     "move the workload to nodes with room", "deleting the wrong files loses data"),
    (r"oom.?kill|out of memory",
     "restart", "Raise the memory limit of {service} temporarily, or restart ahead of the "
     "OOM cycle, while the leak is fixed", "masks the leak; it returns at the old limit"),
    (r"too many (clients|connections)|pool (exhausted|timeout)|query_wait_timeout",
     "scaling", "Restore connection headroom for {service} (previous pool size, or fewer "
     "idle connections held by other clients)", "more connections load the database"),
]  # fmt: skip

# How to reverse each kind of change, keyed by the change log's `kind`.
REVERSAL: dict[str, tuple[MitigationKind, str]] = {
    "deploy": ("rollback", "Roll back {service} from {ref} to the previous release"),
    "feature-flag": ("feature-flag", "Turn off feature flag {ref}"),
    "config": ("config-revert", "Revert config change {ref} on {service}"),
    "infra": ("config-revert", "Revert infrastructure change {ref}"),
    "dependency": ("rollback", "Pin {service} back to the dependency version before {ref}"),
}

LONG_TERM_FIX: dict[IncidentType, list[str]] = {
    "performance-degradation": [
        "Load-test the critical path with production-like concurrency before changes ship.",
        "Set explicit timeouts and bounded queues on every call from {service}.",
    ],
    "service-outage": [
        "Soak new releases of {service} under production-like load long enough to expose "
        "slow failures (leaks, exhaustion) before full rollout.",
        "Remove single points of failure on the path that failed.",
    ],
    "security-incident": [
        "Replace long-lived credentials with short-lived workload identity.",
        "Restrict privileged scopes to allow-listed networks and alert on any other use.",
    ],
    "data-integrity": [
        "Run data migrations as expand/contract: never drop a source column in the same "
        "step that backfills from it.",
        "Reconcile critical data continuously and route mismatches to a watched alert.",
    ],
    "infrastructure-failure": [
        "Set retention and quotas for everything {service} writes to local disk.",
        "Alert on predicted exhaustion (e.g. disk, memory, inodes) hours ahead.",
    ],
    "third-party-disruption": [
        "Give the provider integration in {service} a circuit breaker, budgeted retries with "
        "jitter, and a degraded mode.",
        "Track the provider's error rate as its own SLI with an alert.",
    ],
}

Horizon = Literal["now", "next", "later"]
HardeningCategory = Literal[
    "circuit-breaker",
    "bulkhead",
    "graceful-degradation",
    "capacity",
    "tech-debt",
    "dependency-reduction",
    "change-safety",
    "security",
    "data-safety",
]

# (category, title, horizon) when a change of this kind triggered the incident.
HARDENING_BY_TRIGGER: dict[str, tuple[HardeningCategory, str, Horizon]] = {
    "deploy": ("change-safety", "Progressive delivery with automatic rollback for {service}",
               "now"),
    "feature-flag": ("change-safety", "Progressive flag rollouts for {service} with an "
                     "automatic kill switch on error or correctness signals", "now"),
    "config": ("change-safety", "Validate and canary config changes to {service} like code",
               "now"),
    "infra": ("change-safety", "Plan review and staged apply for infrastructure changes",
              "now"),
    "dependency": ("change-safety", "Pin and canary dependency upgrades of {service}", "now"),
}  # fmt: skip

# Hardening for the failure signatures above, keyed by the mitigation kind they call for.
SIGNATURE_HARDENING: dict[MitigationKind, tuple[HardeningCategory, str, Horizon]] = {
    "certificate": ("tech-debt", "Automated certificate issuance and renewal for {service}, "
                    "with expiry alerts at least 14 days ahead", "now"),
    "free-capacity": ("capacity", "Disk budgets for {service}: retention for everything it "
                      "writes and alerts on predicted exhaustion", "now"),
    "restart": ("capacity", "Memory budgets for {service}: bounded caches and a soak test "
                "that would show a leak before release", "now"),
    "scaling": ("bulkhead", "Connection budgets per client of {service}, sized end to end "
                "and checked when pooler settings change", "now"),
}  # fmt: skip

_MIGRATION_HARDENING: tuple[HardeningCategory, str, Horizon] = (
    "data-safety",
    "Reversible data migrations for {service}: expand/contract steps, a dry run on a "
    "production copy, row-count and checksum checks before anything is dropped",
    "now",
)


def trigger_hardening(kind: str, text: str) -> tuple[HardeningCategory, str, Horizon] | None:
    """The change-safety item for the kind of change that triggered the incident."""
    if "migration" in text.lower():
        return _MIGRATION_HARDENING
    return HARDENING_BY_TRIGGER.get(kind)


# (category, title, horizon) for the hardening roadmap.
HARDENING: dict[IncidentType, list[tuple[HardeningCategory, str, Horizon]]] = {
    "performance-degradation": [
        ("capacity", "Capacity model for {service}: peak load, headroom target, saturation "
         "metrics", "next"),
        ("bulkhead", "Separate connection pools or worker pools per caller class in {service}",
         "next"),
    ],
    "service-outage": [
        ("bulkhead", "Redundancy for {service} across instances and zones, with health checks "
         "that take bad instances out", "next"),
        ("graceful-degradation", "Serve a degraded but working experience when {service} is "
         "down", "later"),
    ],
    "security-incident": [
        ("security", "Workload identity instead of static client secrets", "now"),
        ("security", "Anomaly alerts on privileged access (new networks, volume, hours)", "now"),
    ],
    "data-integrity": [
        ("data-safety", "Automated correctness checks on the data {service} writes or shows "
         "(invariants, reconciliation, golden tests)", "now"),
        ("data-safety", "Reversible data changes for {service}: expand/contract migrations, "
         "dry runs on a copy, restore drills", "next"),
    ],
    "infrastructure-failure": [
        ("capacity", "Resource quotas and retention for local state of {service}", "now"),
        ("bulkhead", "Spread replicas of {service} across nodes and zones", "next"),
    ],
    "third-party-disruption": [
        ("dependency-reduction", "A secondary provider or store-and-forward path for {service}",
         "later"),
        ("circuit-breaker", "Circuit breaker and retry budget on provider calls in {service}",
         "now"),
    ],
}  # fmt: skip

CHAOS: dict[IncidentType, str] = {
    "performance-degradation": "Inject latency into the slowest dependency of {service} in "
    "staging and check that alerts fire and callers time out cleanly.",
    "service-outage": "Kill {service} instances during a load test and check that traffic "
    "moves and the availability alert fires within its window.",
    "security-incident": "Replay a credential-misuse pattern against a canary account and "
    "check that detection pages within minutes.",
    "data-integrity": "Run a migration with a deliberate defect on a staging copy and check "
    "that reconciliation catches it before a person does.",
    "infrastructure-failure": "Fill a node's disk (or memory) in staging and check eviction, "
    "rescheduling and the early-warning alert for {service}.",
    "third-party-disruption": "Make the provider stub in staging return 503s and timeouts and "
    "check the breaker, the fallback and the alert for {service}.",
}


def fill(text: str, service: str | None, ref: str = "") -> str:
    return text.format(service=service or "the affected service", ref=ref or "the change")


# When the evidence does not establish the incident type, only type-neutral advice applies.
UNTYPED_MITIGATIONS: list[tuple[MitigationKind, str, str]] = [
    ("rollback", "If a deploy, config or flag change to {service} lines up with the onset, "
     "undo it first: it is the fastest reversible step", "none when no change lines up"),
    ("traffic", "If {service} is overloaded, shed or rate-limit non-essential traffic to "
     "protect the critical path", "some requests are refused on purpose"),
]  # fmt: skip
UNTYPED_AVOID = [
    "Acting on a guess before the scope is confirmed: several changes at once hide what helped.",
]
UNTYPED_LONG_TERM_FIX = [
    "Instrument {service} with request rate, error share, latency and saturation, so the next "
    "report arrives with evidence.",
]
UNTYPED_HARDENING: list[tuple[HardeningCategory, str, Horizon]] = [
    ("tech-debt", "Golden-signal telemetry and alerts for {service}", "now"),
]
UNTYPED_CHAOS = (
    "Run a game day on {service} with a replayed failure and check that telemetry explains "
    "it within minutes."
)


def mitigations(kind: IncidentType | None) -> list[tuple[MitigationKind, str, str]]:
    return MITIGATIONS[kind] if kind else UNTYPED_MITIGATIONS


def avoid(kind: IncidentType | None) -> list[str]:
    return AVOID[kind] if kind else UNTYPED_AVOID


def long_term_fix(kind: IncidentType | None) -> list[str]:
    return LONG_TERM_FIX[kind] if kind else UNTYPED_LONG_TERM_FIX


def hardening(kind: IncidentType | None) -> list[tuple[HardeningCategory, str, Horizon]]:
    return HARDENING[kind] if kind else UNTYPED_HARDENING


def chaos(kind: IncidentType | None) -> str:
    return CHAOS[kind] if kind else UNTYPED_CHAOS
