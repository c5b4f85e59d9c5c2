"""The Celery app: Redis (or any URL) in production, a filesystem broker when embedded.

Tasks carry only ids; all state is in the control plane. No result backend: completion is
recorded by the task itself and advances the run (event driven), never polled.
"""
from __future__ import annotations

import functools

from celery import Celery
from celery.worker.consumer import Consumer as _Consumer

from nebhx.broker import fsbroker, redisbroker
from nebhx.settings import Settings

RUN_NODE = "nebhx.run_node"
PLAN_HOST = "nebhx.plan_host"


def broker_options(settings: Settings) -> tuple[str, dict]:
    if not settings.embedded_broker:
        # A node may run for hours: never let Redis hand its message to a second worker.
        # Short socket timeouts: an unreachable broker must fail a publish quickly (the node
        # stays queued and the sweep sends it again), not hold an API request.
        # One quick retry when publishing: kombu's default keeps reconnecting for seconds,
        # holding a worker slot, an API request or the sweep while the broker is down.
        # Redis URLs go to our subclass of kombu's transport, which survives a Redis restart.
        assert settings.broker_url  # not embedded: a broker URL is set
        return redisbroker.patched_url(settings.broker_url), {
            "visibility_timeout": 24 * 3600, "socket_timeout": 5, "socket_connect_timeout": 5,
            "max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
    folder = settings.home / "broker"
    queue, processed, control = folder / "queue", folder / "processed", folder / "control"
    for path in (queue, processed, control):
        path.mkdir(parents=True, exist_ok=True)
    return f"{fsbroker.ALIAS}://localhost/", {"data_folder_in": str(queue), "data_folder_out": str(queue),
                             "processed_folder": str(processed), "store_processed": False,
                             "control_folder": str(control),
                             "polling_interval": settings.broker_poll_s}


class Consumer(_Consumer):
    """Celery's consumer, trying a lost broker every second or two.

    Celery waits 2, 4, 6... up to 30 s between tries: a broker back after a minute was
    seen by the workers up to 30 s later, with every run standing still meanwhile.
    """

    def ensure_connected(self, conn):
        conn.ensure_connection = functools.partial(conn.ensure_connection, interval_start=0.5,
                                                   interval_step=0.5, interval_max=2.0)
        return super().ensure_connected(conn)


def make_celery(settings: Settings, include: list[str]) -> Celery:
    url, options = broker_options(settings)
    # A worker imports the tasks' modules (``include``) when it starts; a sender needs only their names.
    app = Celery("nebhx", broker=url, set_as_current=True, include=include)
    app.conf.update(
        broker_transport_options=options,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker outlives any broker outage
        # A node's state is in the store: a broker that blinks must not stop running bricks.
        worker_cancel_long_running_tasks_on_connection_loss=False,
        worker_consumer=f"{__name__}:Consumer",
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue="nebhx",
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_serializer="json",
        accept_content=["json"],
    )
    return app


def host_queue_options(host: str) -> dict:
    """What an agent's Celery app sets so it touches only its own queue's keys (the broker user
    the control plane made for the host allows no other: ``execution.broker``)."""
    queue = f"host.{host}"
    return {"unacked_key": f"{queue}.unacked", "unacked_index_key": f"{queue}.unacked_index",
            "unacked_mutex_key": f"{queue}.unacked_mutex", "priority_steps": [0]}
