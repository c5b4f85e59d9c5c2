"""Nebh-X's own metrics in Prometheus' text format, read from the store at each scrape.

Every number comes from the database, so the API answers for every worker and agent at
once (no per-process counters to add up): runs by status, node durations and queue wait
(histograms of the finished nodes still kept), agents' heartbeats, rollout switches and
rollbacks by status, and what each service's probes found (readiness, liveness status,
liveness restarts) as the agents last reported it.
"""
from __future__ import annotations

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import case, func, select

from nebhx.hosts.service import host_state
from nebhx.statuses import NodeStatus, RunStatus
from nebhx.store.db import session_scope
from nebhx.store.models import HostRow, NodeRow, RunRow, aware

BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
SWITCHES = ("rollout.switch", "release.switch")
ROLLBACKS = ("rollout.rollback",)
LIVENESS = ("alive", "failing", "restarting", "unhealthy", "stopped", "pending")


def _seconds(s, later, earlier):
    """``later - earlier`` in seconds, computed by the store (SQLite or PostgreSQL)."""
    if s.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 86400.0
    return func.extract("epoch", later - earlier)


def _histogram(s, name: str, doc: str, later, earlier) -> HistogramMetricFamily:
    """One histogram per brick, its buckets counted by the store in one grouped query (a
    scrape must stay cheap however many runs are kept)."""
    dur = _seconds(s, later, earlier)
    cols = [func.sum(case((dur <= b, 1), else_=0)) for b in BUCKETS]
    query = (select(NodeRow.brick, func.count(), func.coalesce(func.sum(dur), 0.0), *cols)
             .where(later.isnot(None), earlier.isnot(None)).group_by(NodeRow.brick).order_by(NodeRow.brick))
    fam = HistogramMetricFamily(name, doc, labels=["brick"])
    for brick, count, total, *counts in s.execute(query).all():
        buckets = [(str(b), int(c or 0)) for b, c in zip(BUCKETS, counts)] + [("+Inf", int(count))]
        fam.add_metric([brick], buckets, max(float(total), 0.0))
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
        yield _histogram(s, "nebhx_node_duration_seconds", "Run time of finished nodes (started to finished)",
                         NodeRow.finished_at, NodeRow.started_at)
        yield _histogram(s, "nebhx_node_queue_wait_seconds", "Queue wait of started nodes (queued to started)",
                         NodeRow.started_at, NodeRow.queued_at)
        watched = (*SWITCHES, *ROLLBACKS)
        by = {(b, str(st)): n for b, st, n in s.execute(
            select(NodeRow.brick, NodeRow.status, func.count()).where(NodeRow.brick.in_(watched))
            .group_by(NodeRow.brick, NodeRow.status)).all()}
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
