"""The control plane's Celery app (``nebhx.broker.app``): it sends nodes, and its workers
run them against the store (``nebhx.engine.tasks``)."""
from __future__ import annotations

import logging
import uuid

from celery.signals import worker_init, worker_process_init

from nebhx.broker.app import PLAN_HOST, RUN_NODE, broker_options, make_celery
from nebhx.settings import Settings, get_settings

__all__ = ["PLAN_HOST", "RUN_ITEMS", "RUN_NODE", "app", "broker_epoch", "reconfigure", "send"]

EPOCH_KEY = "nebhx:broker-epoch"
log = logging.getLogger("nebhx.engine")
RUN_ITEMS = "nebhx.run_items"  # several items of one fan-out: (run id, [[node id, attempt], ...])
app = make_celery(get_settings(), include=["nebhx.engine.tasks"])


@worker_process_init.connect
def _after_fork(**_) -> None:
    from nebhx.attempt.fence import lead_own_group
    from nebhx.store.db import dispose_all
    dispose_all()
    lead_own_group()  # the processes of the attempts this child runs are its group


@worker_init.connect
def _before_pool(**_) -> None:
    from nebhx.attempt.fence import stop_leftovers
    try:
        if stopped := stop_leftovers():
            log.warning("stopped %d attempt(s) a previous worker here left running", stopped)
    except Exception:  # never keep a worker from starting
        log.exception("could not look for attempts left running")


def send(dispatches) -> None:
    """Publish queued nodes. A failed publish leaves the node queued, marked for the sweep
    to send again as soon as the broker answers."""
    from nebhx.engine.messages import chunks
    unsent = []
    for group in chunks(list(dispatches), get_settings().worker_concurrency):
        d = group[0]
        # By name: the task's code (nebhx.engine.tasks) is the workers', not the sender's.
        name, args = ((RUN_NODE, (d.run_id, d.node_id, d.attempt)) if len(group) == 1 else
                      (RUN_ITEMS, (d.run_id, [[g.node_id, g.attempt] for g in group])))
        try:
            app.send_task(name, args, queue=d.queue, countdown=d.countdown or None, retry=False)
        except Exception as exc:  # the broker is down: the nodes stay queued in the store
            log.warning("could not publish %s/%s%s: %s", d.run_id, d.node_id,
                        f" and {len(group) - 1} more" if len(group) > 1 else "", exc)
            unsent += group
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
