"""A small Prometheus HTTP API client: range queries for the SLIs in the service catalog.

Only the standard library (urllib) is used. Errors from the server or the network are
translated into PrometheusError at this boundary, so the caller can turn them into a
digest warning and carry on with the rest of the evidence.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from incident_ops.config import Config
from incident_ops.errors import IncidentOpsError
from incident_ops.evidence.records import Series

MAX_POINTS_PER_QUERY = 240
MIN_STEP_S = 15.0


class PrometheusError(IncidentOpsError):
    """The Prometheus server could not answer a query."""


class PrometheusClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise PrometheusError(f"prometheus_url must be http(s): {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    @classmethod
    def from_config(cls, config: Config) -> PrometheusClient | None:
        url = config.evidence.prometheus_url
        return cls(url) if url else None

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = f"{self.base_url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = response.read(32 * 1024 * 1024)
        except urllib.error.HTTPError as exc:
            detail = exc.read(2000).decode("utf-8", "replace")
            raise PrometheusError(f"{path}: HTTP {exc.code}: {_error_text(detail)}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise PrometheusError(f"{path}: cannot reach {self.base_url}: {exc}") from exc
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise PrometheusError(f"{path}: answer is not JSON") from exc
        if not isinstance(data, dict) or data.get("status") != "success":
            raise PrometheusError(
                f"{path}: {data.get('error') if isinstance(data, dict) else data}"
            )
        return data.get("data")

    def query_range(
        self, query: str, start: datetime, end: datetime, step_s: float | None = None
    ) -> list[Series]:
        """Matrix result of `query` over [start, end] as series (evidence id left empty)."""
        span = max(1.0, (end - start).total_seconds())
        step = step_s or max(MIN_STEP_S, span / MAX_POINTS_PER_QUERY)
        data = self._get(
            "/api/v1/query_range",
            {
                "query": query,
                "start": f"{start.timestamp():.3f}",
                "end": f"{end.timestamp():.3f}",
                "step": f"{step:g}",
            },
        )
        results = data.get("result") if isinstance(data, dict) else None
        series = []
        for result in results or []:
            metric = {str(k): str(v) for k, v in (result.get("metric") or {}).items()}
            name = metric.pop("__name__", "")
            points = []
            for pair in result.get("values") or []:
                try:
                    points.append((float(pair[0]), float(pair[1])))
                except (TypeError, ValueError, IndexError):
                    continue
            series.append(
                Series(evidence="", name=name, labels=metric, kind="gauge", points=points)
            )
        return series


def incident_window(opened_at: datetime, now: datetime) -> tuple[datetime, datetime]:
    """Two hours of baseline before the issue was opened, up to now (at most a day on)."""
    end = min(now, opened_at + timedelta(hours=24))
    return opened_at - timedelta(hours=2), max(end, opened_at + timedelta(minutes=5))


def _error_text(body: str) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body[:200]
    return str(data.get("error", body))[:200] if isinstance(data, dict) else body[:200]
