"""The agent's Celery app: the control plane's broker, the host's own queue, the tasks the
control plane sends there by name (``agent.tasks``). Built on import: import it only once the
agent joined (``agent.main``), when the settings name the broker the API handed it."""
from __future__ import annotations

import logging

from celery.signals import worker_init, worker_process_init

from nebhx.broker.app import make_celery
from nebhx.settings import get_settings

log = logging.getLogger("nebhx.agent")
app = make_celery(get_settings(), include=["nebhx.agent.tasks"])


@worker_process_init.connect
def _after_fork(**_) -> None:
    from nebhx.attempt.fence import lead_own_group
    lead_own_group()  # the processes of the attempts this child runs are its group


@worker_init.connect
def _before_pool(**_) -> None:
    from nebhx.attempt.fence import stop_leftovers
    try:
        if stopped := stop_leftovers():
            log.warning("stopped %d attempt(s) a previous agent here left running", stopped)
    except Exception:  # never keep an agent from starting
        log.exception("could not look for attempts left running")
