"""The Celery app: Redis (or any URL) in production, a filesystem broker when embedded.

Tasks carry only ids; all state is in the database. No result backend: completion is
recorded by the task itself and advances the run (event driven), never polled.
"""
from __future__ import annotations

import functools
import logging
import uuid

from celery import Celery
from celery.signals import worker_init, worker_process_init
from celery.worker.consumer import Consumer as _Consumer

from nebhx.engine import fsbroker, redisbroker
from nebhx.settings import Settings, get_settings

EPOCH_KEY = "nebhx:broker-epoch"


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


def make_celery(settings: Settings) -> Celery:
    url, options = broker_options(settings)
    # A worker imports the tasks' modules when it starts; a sender needs only their names.
    app = Celery("nebhx", broker=url, set_as_current=True, include=["nebhx.engine.tasks"])
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


log = logging.getLogger("nebhx.engine")
RUN_NODE = "nebhx.run_node"
app = make_celery(get_settings())


@worker_process_init.connect
def _after_fork(**_) -> None:
    from nebhx.engine.fence import lead_own_group
    from nebhx.store.db import dispose_all
    dispose_all()
    lead_own_group()  # the processes of the attempts this child runs are its group


@worker_init.connect
def _before_pool(**_) -> None:
    from nebhx.engine.fence import stop_leftovers
    try:
        if stopped := stop_leftovers():
            log.warning("stopped %d attempt(s) a previous worker here left running", stopped)
    except Exception:  # never keep a worker from starting
        log.exception("could not look for attempts left running")


def send(dispatches) -> None:
    """Publish queued nodes. A failed publish leaves the node queued, marked for the sweep
    to send again as soon as the broker answers."""
    unsent = []
    for d in dispatches:
        try:
            # By name: the task's code (nebhx.engine.tasks) is the workers', not the sender's.
            app.send_task(RUN_NODE, (d.run_id, d.node_id, d.attempt), queue=d.queue,
                          countdown=d.countdown or None, retry=False)
        except Exception as exc:  # the broker is down: the node stays queued in the store
            log.warning("could not publish %s/%s: %s", d.run_id, d.node_id, exc)
            unsent.append(d)
    if unsent:
        from nebhx.engine.unsent import mark_unsent
        try:
            mark_unsent(unsent)
        except Exception as exc:  # the store is down too: the sweep's slow path finds them
            log.warning("could not mark %d unsent node(s): %s", len(unsent), exc)


def broker_epoch() -> str | None:
    """A token the broker keeps as long as it keeps its messages; None when it cannot tell.

    Redis restarted without persistence (or flushed) forgets the token with the messages:
    a new token means every queued node's message may be gone. Raises when unreachable.
    """
    with app.connection_for_write() as conn:
        if conn.transport.driver_type != "redis":
            return None
        client = conn.default_channel.client
        client.set(EPOCH_KEY, uuid.uuid4().hex, nx=True)
        value = client.get(EPOCH_KEY)
    return value.decode() if isinstance(value, bytes) else value


def reconfigure(settings: Settings | None = None) -> None:
    """Point the process-wide app at the current settings (tests change NEBHX_* between cases)."""
    settings = settings or get_settings()
    url, options = broker_options(settings)
    if app.conf.broker_url == url and app.conf.broker_transport_options == options:
        return
    app.conf.broker_url = url
    app.conf.broker_transport_options = options
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
