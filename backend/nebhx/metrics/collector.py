"""Nebh-X's own metrics in Prometheus' text format, read from the store at each scrape.

Every number comes from the database, so the API answers for every worker and agent at
once (no per-process counters to add up): runs by status, node durations and queue wait
(histograms of the finished nodes still kept), agents' heartbeats, rollout switches and
rollbacks by status, and what each service's probes found (readiness, liveness status,
liveness restarts) as the agents last reported it.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from nebhx.hosts.service import host_state
from nebhx.statuses import NodeStatus, RunStatus
from nebhx.store.db import session_scope
from nebhx.store.models import HostRow, NodeRow, RunRow, aware

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
SWITCHES = ("rollout.switch", "release.switch")
ROLLBACKS = ("rollout.rollback",)
LIVENESS = ("alive", "failing", "restarting", "unhealthy", "stopped", "pending")


def _histogram(name: str, doc: str, values: Iterable[tuple[str, float]]) -> HistogramMetricFamily:
    """One histogram per brick: cumulative buckets, sum and count."""
    per: dict[str, list[float]] = {}
    for brick, v in values:
        per.setdefault(brick, []).append(max(v, 0.0))
    fam = HistogramMetricFamily(name, doc, labels=["brick"])
    for brick, vals in sorted(per.items()):
        buckets = [(str(b), sum(1 for v in vals if v <= b)) for b in BUCKETS] + [("+Inf", len(vals))]
        fam.add_metric([brick], buckets, sum(vals))
    return fam


class StoreCollector(Collector):
    def __init__(self, db_url: str | None = None):
        self.db_url = db_url

    def collect(self):
        with session_scope(self.db_url) as s:
            yield from self._runs(s)
            yield from self._nodes(s)
            yield from self._hosts(s)

    def _runs(self, s):
        counts = dict(s.execute(select(RunRow.status, func.count()).group_by(RunRow.status)).all())
        fam = GaugeMetricFamily("nebhx_runs", "Runs kept in the store, by status", labels=["status"])
        for status in RunStatus:
            fam.add_metric([str(status)], counts.get(status, 0))
        yield fam

    def _nodes(self, s):
        rows = s.execute(select(NodeRow.brick, NodeRow.status, NodeRow.queued_at, NodeRow.started_at,
                                NodeRow.finished_at)).all()
        ended = [(r.brick, (aware(r.finished_at) - aware(r.started_at)).total_seconds()) for r in rows
                 if r.started_at and r.finished_at]
        waited = [(r.brick, (aware(r.started_at) - aware(r.queued_at)).total_seconds()) for r in rows
                  if r.started_at and r.queued_at]
        yield _histogram("nebhx_node_duration_seconds", "Run time of finished nodes (started to finished)", ended)
        yield _histogram("nebhx_node_queue_wait_seconds", "Queue wait of started nodes (queued to started)", waited)
        by = Counter((r.brick, str(r.status)) for r in rows)
        for name, bricks, doc in (("nebhx_rollout_switches", SWITCHES, "Rollout switches by brick and status"),
                                  ("nebhx_rollbacks", ROLLBACKS, "Rollbacks by brick and status")):
            fam = CounterMetricFamily(name, doc, labels=["brick", "status"])
            for brick in bricks:
                for status in (NodeStatus.SUCCEEDED, NodeStatus.FAILED, NodeStatus.CANCELLED):
                    fam.add_metric([brick, str(status)], by.get((brick, str(status)), 0))
            yield fam

    def _hosts(self, s):
        seen = GaugeMetricFamily("nebhx_agent_last_heartbeat_seconds", "When each host's agent last beat (epoch)",
                                 labels=["host"])
        up = GaugeMetricFamily("nebhx_agent_up", "1 while the host's agent beats in time", labels=["host"])
        probe = GaugeMetricFamily("nebhx_service_probe_ok", "1 when the service's last probe passed",
                                  labels=["host", "service", "instance"])
        live = GaugeMetricFamily("nebhx_service_liveness", "1 for the service's liveness status",
                                 labels=["host", "service", "instance", "status"])
        restarts = GaugeMetricFamily("nebhx_service_liveness_restarts", "Restarts by the liveness watcher",
                                     labels=["host", "service", "instance"])
        for row in s.execute(select(HostRow).order_by(HostRow.name)).scalars():
            if row.last_seen:
                seen.add_metric([row.name], aware(row.last_seen).timestamp())
            up.add_metric([row.name], 1 if host_state(row) == "up" else 0)
            for svc in row.services or []:
                labels = [row.name, str(svc.get("service") or ""), str(svc.get("instance") or "")]
                if svc.get("last_probe"):
                    probe.add_metric(labels, 1 if svc["last_probe"].get("ok") else 0)
                if liveness := svc.get("liveness"):
                    for status in LIVENESS:
                        live.add_metric([*labels, status], 1 if liveness.get("status") == status else 0)
                    restarts.add_metric(labels, liveness.get("restarts") or 0)
        yield from (seen, up, probe, live, restarts)


def registry(db_url: str | None = None) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StoreCollector(db_url))
    return reg
