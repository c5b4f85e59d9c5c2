"""``GET /metrics``: Nebh-X's metrics for Prometheus (a viewer's credential, as every read)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from nebhx.auth.deps import VIEWER

router = APIRouter(tags=["metrics"], dependencies=[VIEWER])


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text format"}})
def metrics() -> Response:
    """Runs by status, node durations and queue wait, agents' heartbeats, rollouts and
    rollbacks, probe results: read from the store at each scrape."""
    from nebhx.metrics.collector import registry
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)
