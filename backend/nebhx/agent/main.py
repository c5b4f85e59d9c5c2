"""The agent process: join the control plane with the host's token, then run the host's
worker. ``nebhx agent --server URL`` starts it in an interpreter of its own
(``python -m nebhx.agent``), so nothing of the control plane is even loaded here.

The token comes from ``NEBHX_AGENT_TOKEN`` (never the command line, which ``ps`` shows).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings

from nebhx.agent import models as m
from nebhx.agent.client import AgentClient, agent_client
from nebhx.settings import get_settings, reset_settings

# Never an agent's: a database URL or a key here would be a mistake, so none is kept.
CONTROL_ONLY = ("NEBHX_DATABASE_URL", "NEBHX_SECRET_KEY", "NEBHX_SECRET_KEY_FILE")


class Refused(Exception):
    """The agent cannot start; the message says why."""


def join(host: str, server: str, token: str | None) -> m.Hello:
    """Ask the execution API who this token is, and make its answer this process's settings."""
    if not token:
        raise Refused("--server needs the host's token: --token, --token-file or NEBHX_AGENT_TOKEN "
                      f"(an admin prints one with `nebhx hosts add {host}`)")
    try:
        hello = AgentClient(server, token, patience_s=30).hello()
    except Exception as exc:
        raise Refused(f"the execution API at {server} refused this agent: {exc}") from exc
    if hello.host != host:
        raise Refused(f"this token belongs to host {hello.host!r}, not {host!r}")
    broker = os.environ.get("NEBHX_BROKER_URL") or hello.broker_url
    if not broker:
        raise Refused("the server uses its embedded broker, which agents on other machines cannot reach: "
                      "run the server with NEBHX_BROKER_URL=redis://... (or set it here)")
    for key in CONTROL_ONLY:
        os.environ.pop(key, None)
    os.environ.update(NEBHX_URL=server, NEBHX_AGENT_TOKEN=token, NEBHX_BROKER_URL=broker)
    reset_settings()
    return hello


def _install(url: str, token: str) -> None:
    """This process's brick resources and brick packages: the control plane's, over HTTP."""
    from nebhx.agent.client import sync_brick_packages
    from nebhx.agent.resources import agent_resources
    from nebhx.bricks import packages, resources
    resources.install(agent_resources(url, token))

    def sync() -> None:  # pinned by sha256, fetched through the execution API
        sync_brick_packages(agent_client(url, token))
    packages.sync_hook = sync


def _announce(host: str, labels: dict[str, str], client: AgentClient) -> None:
    """Register the host (before the worker takes tasks, so nodes for it are routed), and once
    the pool forked: beat alive, report the services and volumes, after each node too."""
    from celery.signals import worker_ready

    from nebhx.agent.host import HostReporter
    from nebhx.attempt.alive import new_worker_id, start_beating
    from nebhx.attempt.execute import after_host_node
    from nebhx.runtime.address import host_address
    from nebhx.version import __version__
    client.call("/register", m.Register(address=host_address(), labels=labels, version=__version__))
    wid = new_worker_id()

    def alive() -> None:
        client.call("/alive", m.Alive(worker=wid), patience_s=0)

    def beat(services: list[dict] | None, volumes: list[dict] | None) -> None:
        client.call("/heartbeat", m.Beat(services=services, volumes=volumes), patience_s=0)
    reporter = HostReporter(host, beat)
    # No child inherits a beat's connection: they start once the pool has forked.
    worker_ready.connect(lambda **_: start_beating(alive, get_settings().worker_beat_s), weak=False)
    worker_ready.connect(lambda **_: reporter.start(), weak=False)
    after_host_node.append(reporter.report_services_soon)  # before the pool forks: its children run nodes


def run(host: str, labels: dict[str, str], concurrency: int | None = None) -> int:
    """Run the worker of the joined host on its queue ``host.NAME``; its exit code."""
    from celery.platforms import SecurityWarning

    settings = get_settings()
    url, token = settings.url, settings.agent_token
    assert token, "join() first"
    # An agent manages the host's services (supervisord, HAProxy, mounts): running as root is
    # its job, not an accident worth a warning on every start.
    warnings.filterwarnings("ignore", category=SecurityWarning)
    # Celery warns on every broker loss that it will cancel running tasks in 6.0; we set
    # worker_cancel_long_running_tasks_on_connection_loss=False on purpose (broker.app).
    warnings.filterwarnings("ignore", message="(?s).*worker_cancel_long_running_tasks_on_connection_loss")
    _install(url, token)  # before the pool forks: every child's bricks get these resources
    # The host whose runtime this process's bricks get: the framework's word, not a node's input;
    # and what it declares, for bricks that describe their host (ansible.playbook's inventory).
    os.environ.update(NEBHX_AGENT_HOST=host, NEBHX_AGENT_LABELS=json.dumps(labels))
    from nebhx.agent.app import app
    from nebhx.broker.app import host_queue_options
    # Its broker user reaches only its own queue's keys (execution/broker.py): no shared
    # unacked keys, no priority sub-queues, no remote control (pub/sub).
    app.conf.broker_transport_options = {**app.conf.broker_transport_options, **host_queue_options(host)}
    app.conf.worker_enable_remote_control = False
    _announce(host, labels, agent_client(url, token))
    # The palette and the tasks' code load before the pool forks, so no child pays for them.
    import nebhx.agent.tasks  # noqa: F401
    from nebhx.bricks.registry import get_registry
    get_registry()
    # app.start, not app.worker_main: worker_main drops the exit code (a worker dead of an
    # "Unrecoverable error" exited 0 and an on-failure restart policy left it dead).
    return app.start(["--quiet", "worker", "-Q", f"host.{host}", "-c", str(concurrency or settings.worker_concurrency),
                      "-P", settings.worker_pool, "-n", f"nebhx-{host}-{os.getpid()}@%h", "--without-gossip",
                      "--without-mingle", "--without-heartbeat", "-l", settings.log_level]) or 0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nebhx.agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", required=True, help="this host's name")
    parser.add_argument("--server", default=None, help="the control plane's URL (NEBHX_URL)")
    parser.add_argument("--label", action="append", default=[], help="label k=v, repeatable")
    parser.add_argument("-c", "--concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from nebhx.bricks.inventory import parse_labels
    try:
        labels = parse_labels(args.label)
        if "name" in labels:  # selectors read `name` as the host's own: never an agent's word
            raise Refused("--label name=...: a host's name is its own (--host), not a label")
        join(args.host, args.server or get_settings().url, os.environ.get("NEBHX_AGENT_TOKEN"))
    except (Refused, ValueError) as exc:
        print(exc, flush=True)
        sys.exit(2)
    sys.exit(run(args.host, labels, args.concurrency))
