"""Raw Celery doing the benchmark's shapes: the baseline the engine is compared against."""
from __future__ import annotations

import os

from celery import Celery

app = Celery("rawbench", broker=os.environ.get("RAW_BROKER", "redis://127.0.0.1:6379/15"),
             backend=os.environ.get("RAW_BACKEND", "redis://127.0.0.1:6379/15"))
app.conf.update(worker_prefetch_multiplier=1, task_acks_late=True, result_expires=600)


@app.task(name="raw.noop")
def noop(*_args):
    return "ok"
