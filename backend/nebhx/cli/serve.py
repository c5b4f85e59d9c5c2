"""Processes: the API, workers, agents, and ``up`` which supervises them on one machine."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from nebhx.settings import get_settings, reset_settings

console = Console()


def api(host: str = typer.Option(None, help="Bind address (NEBHX_HOST)"),
        port: int = typer.Option(None, help="Port (NEBHX_PORT)"),
        sweeper: bool = typer.Option(True, help="Run the scheduler's sweep in this process")) -> None:
    """Serve the API and the editor."""
    import uvicorn

    from nebhx.api.app import create_app
    host = host or get_settings().host
    _refuse_unsafe_bind(host)
    os.environ["NEBHX_HOST"] = host  # open mode and the Host check follow the real bind address
    reset_settings()
    settings = get_settings()
    warn_if_open()
    # Forwarded headers only from NEBHX_TRUSTED_PROXIES: uvicorn's default believes any loopback
    # client, which could then fake the address the audit keeps and the sign-in limit counts.
    proxies = settings.trusted_proxies.strip()
    uvicorn.run(create_app(sweeper=sweeper), host=host, port=port or settings.port,
                log_level="warning", timeout_graceful_shutdown=3,
                proxy_headers=bool(proxies), forwarded_allow_ips=proxies or "")


def warn_if_open() -> None:
    """Say it at start when the server is open (no user yet) and runs as root."""
    from nebhx.auth.service import is_open
    if os.geteuid() == 0 and is_open():
        console.print("[yellow]open mode as root[/]: no user exists yet, so every local account (any process "
                      "on this machine) can run anything as root through the API. Create an admin "
                      "(`nebhx user add admin --role admin`) or set NEBHX_AUTH=required.", soft_wrap=True)


def _refuse_unsafe_bind(host: str) -> None:
    from nebhx.auth.service import unsafe_bind
    if reason := unsafe_bind(host):
        console.print(f"[red]{reason}[/]", soft_wrap=True)
        raise typer.Exit(2)


def _labels(pairs: list[str]) -> dict[str, str]:
    """--label k=v options as a dict, or exit 2 naming the one that is not a label."""
    from nebhx.bricks.inventory import parse_labels
    try:
        labels = parse_labels(pairs)
    except ValueError as exc:
        console.print(f"[red]--label[/]: {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from None
    if "name" in labels:  # selectors read `name` as the host's own: never an agent's word
        console.print("[red]--label name=...[/]: a host's name is its own (--host), not a label")
        raise typer.Exit(2)
    return labels


def worker(queues: str = typer.Option("nebhx", "--queues", "-Q", help="Comma-separated queues"),
           host: str = typer.Option(None, help="Also act as the agent of this host (through the store)"),
           label: list[str] = typer.Option([], help="Host label k=v (with --host)"),
           concurrency: int = typer.Option(None, "--concurrency", "-c")) -> None:
    """Run a Celery worker for control bricks (and, with --host, a host's bricks)."""
    from celery.platforms import SecurityWarning

    from nebhx.engine.celery_app import app
    # `nebhx up` runs its workers as root at times: the host's agent manages services there.
    warnings.filterwarnings("ignore", category=SecurityWarning)
    # Celery warns on every broker loss that it will cancel running tasks in 6.0; we set
    # worker_cancel_long_running_tasks_on_connection_loss=False on purpose (broker.app).
    warnings.filterwarnings("ignore", message="(?s).*worker_cancel_long_running_tasks_on_connection_loss")
    settings = get_settings()
    from nebhx import process
    process.install()  # before the pool forks: every child's bricks get this process's resources
    qs = [q for q in queues.split(",") if q]
    from celery.signals import worker_ready

    from nebhx.attempt.alive import new_worker_id
    from nebhx.hosts.agent import beat_worker
    worker_id = new_worker_id()
    # Alive once the pool has forked (no child inherits the beat's connection); until then
    # it has claimed nothing.
    worker_ready.connect(lambda **_: beat_worker(worker_id, host), weak=False)
    if host:
        _embedded_agent(host, _labels(label))
        qs.append(f"host.{host}")
    # Load the palette and the task's code before the pool forks, so no child pays for it
    # on its first node (a tenth of a second each, seen on the first run after `nebhx up`).
    import importlib

    from nebhx.bricks.registry import get_registry
    importlib.import_module("nebhx.engine.tasks")  # the node task and the code it runs
    importlib.import_module("nebhx.execution.plan_agent")  # plans of this host's nodes
    get_registry()
    # app.start, not app.worker_main: worker_main drops the exit code, so a worker that died
    # of an "Unrecoverable error" exited 0 and an on-failure restart policy left it dead.
    code = app.start(["--quiet", "worker", "-Q", ",".join(qs), "-c", str(concurrency or settings.worker_concurrency),
                      "-P", settings.worker_pool, "-n", f"nebhx-{host or 'control'}-{os.getpid()}@%h",
                      "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", settings.log_level])
    if code:
        raise typer.Exit(code)


def _embedded_agent(host: str, labels: dict[str, str]) -> None:
    """This control worker is also the agent of ``host``, reporting straight to the store."""
    from celery.signals import worker_ready

    from nebhx.attempt.execute import after_host_node
    from nebhx.hosts.agent import register, reporter
    # The host whose runtime this process's bricks get: the framework's word, not a node's input;
    # and what it declares, for bricks that describe their host (ansible.playbook's inventory).
    os.environ.update(NEBHX_AGENT_HOST=host, NEBHX_AGENT_LABELS=json.dumps(labels))
    register(host, labels)
    report = reporter(host)
    worker_ready.connect(lambda **_: report.start(), weak=False)
    after_host_node.append(report.report_services_soon)  # before the pool forks: its children run nodes


def agent(host: str = typer.Option(..., help="This host's name"),
          label: list[str] = typer.Option([], help="Label k=v, repeatable"),
          concurrency: int = typer.Option(None, "--concurrency", "-c"),
          server: str = typer.Option(None, help="The control plane's URL: reach it only through its "
                                                "execution API (no database URL, no key here)"),
          token: str = typer.Option(None, envvar="NEBHX_AGENT_TOKEN", show_envvar=True,
                                    help="This host's join token (nebhx hosts add NAME)"),
          token_file: Path = typer.Option(None, help="Read the token from this file")) -> None:
    """Run the agent of one host: a worker on queue host.NAME plus the host runtime."""
    if token_file:
        token = token_file.read_text().strip()
        if token_file.stat().st_mode & 0o077:
            console.print(f"[yellow]{escape(str(token_file))} is readable by other users[/]: the programs this "
                          f"host runs as their own users could read the token; chmod 600 it", soft_wrap=True)
    if not (server or token):  # the agent of a host on the control plane's machine: the store's
        worker(queues="", host=host, label=label, concurrency=concurrency)
        return
    _labels(label)  # refused here, with the others' words
    # The agent proper (nebhx.agent), in an interpreter of its own: nothing of the control
    # plane is loaded there, and the token travels in its environment, not on its command line.
    from nebhx.agent.main import CONTROL_ONLY
    env = {k: v for k, v in os.environ.items() if k not in CONTROL_ONLY}  # an agent must never use them
    env["NEBHX_AGENT_TOKEN"] = token or ""
    args = ["--host", host, "--server", server or get_settings().url, *(a for kv in label for a in ("--label", kv))]
    if concurrency:
        args += ["-c", str(concurrency)]
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "nebhx.agent", *args], env)


def scheduler() -> None:
    """Run only the scheduler's sweep (when the API runs with --no-sweeper)."""
    from nebhx import process
    sw = process.sweeper()
    sw.start()
    console.print("scheduler sweeping every", sw.settings.sweep_interval_s, "s")
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    sw.stop()


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        return s.connect_ex((host, port)) != 0


def up(port: int = typer.Option(None, help="API port (NEBHX_PORT, default 8750)"),
       host: str = typer.Option(None, help="Bind address (NEBHX_HOST)"),
       label: list[str] = typer.Option([], help="Label k=v of host `local`, repeatable (e.g. role=web)"),
       mail_sink: bool = typer.Option(True, help="Run the development mail sink (NEBHX_MAIL_SINK, "
                                                 "default 127.0.0.1:2525; `nebhx mail` shows what it got)"),
       stop_services_on_exit: bool = typer.Option(False, help="On exit also stop the services, "
                                                              "supervisord and HAProxy the host started")) -> None:
    """Run everything on one machine: API + scheduler, a worker and the agent of host `local`."""
    settings = get_settings()
    port, host = port or settings.port, host or settings.host
    _labels(label)  # refused here, before anything starts
    _refuse_unsafe_bind(host)
    if not _port_free(host, port):
        console.print(f"[red]port {port} on {host} is in use[/]: pass --port or set NEBHX_PORT")
        raise typer.Exit(2)
    sink = _start_mail_sink(settings.home) if mail_sink else None
    nebhx = [sys.executable, "-m", "nebhx.cli.main"]
    env = {**os.environ, "NEBHX_URL": f"http://{host}:{port}"}
    labels = [arg for kv in label for arg in ("--label", kv)]
    specs = {"api": [*nebhx, "api", "--port", str(port), "--host", host],
             "worker": [*nebhx, "worker", "--queues", "nebhx", "--host", "local", *labels]}
    procs = {name: subprocess.Popen(cmd, env=env) for name, cmd in specs.items()}
    if _wait_healthy(f"http://{host}:{port}/api/health", procs["api"]):
        console.print(banner(host, port, settings))
    try:
        _supervise(procs, specs, env)
    finally:
        if sink is not None:
            sink.stop()
        _leftovers(settings.home, stop_services_on_exit)


def banner(host: str, port: int, settings) -> str:
    """What `nebhx up` says once the API answers: where, and which store and broker (their
    passwords masked: a terminal's scrollback and CI logs keep it)."""
    broker = "embedded" if settings.embedded_broker else _without_password(settings.broker_url)
    return (f"Nebh-X is up: [bold]http://{host}:{port}/[/]  (store {_without_password(settings.db_url)}, "
            f"broker {broker})")


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:******@{parts.netloc.rpartition('@')[2]}"))


def _start_mail_sink(home: Path):
    from nebhx.mail.sink import MailSettings, start
    try:
        where = MailSettings().address()
    except ValueError:
        console.print("[red]NEBHX_MAIL_SINK must be host:port or off[/]")
        raise typer.Exit(2) from None
    if where is None:
        return None
    try:
        sink = start(home, *where)
    except (OSError, RuntimeError) as exc:
        console.print(f"[yellow]mail sink not started on {where[0]}:{where[1]}[/] ({exc}); "
                      "pass --no-mail-sink or set NEBHX_MAIL_SINK=host:port", soft_wrap=True)
        return None
    console.print(f"mail sink on {where[0]}:{where[1]}: e-mails sent there are kept, see `nebhx mail`")
    return sink


def _leftovers(home: Path, stop: bool) -> None:
    """Say what the host left running (services outlive the agent by design), or stop it."""
    from nebhx.runtime.leftovers import running, stop_all
    if stop:
        for line in stop_all(home):
            console.print(f"stopped {line}", soft_wrap=True)
        return
    left = running(home)
    if left:
        console.print("[yellow]still running[/] (services outlive `nebhx up` by design):", soft_wrap=True)
        for line in left:
            console.print(f"  {line}", soft_wrap=True)
        console.print("stop them with `nebhx down`", soft_wrap=True)


def down() -> None:
    """Stop what the hosts of this machine started: supervisord with its programs, and HAProxy."""
    from nebhx.runtime.leftovers import stop_all
    stopped = stop_all(get_settings().home)
    for line in stopped:
        console.print(f"stopped {line}", soft_wrap=True)
    if not stopped:
        console.print(f"nothing left running under {get_settings().home / 'hosts'}")


def _wait_healthy(url: str, api: subprocess.Popen, timeout: float = 60) -> bool:
    import httpx
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and api.poll() is None:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    console.print(f"[red]the API did not answer at {url}[/]; see the messages above")
    return False


def _supervise(procs: dict, specs: dict, env: dict) -> None:
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(1))
    try:
        while not stopping:
            time.sleep(0.5)
            for name, proc in procs.items():
                if proc.poll() is not None and not stopping:
                    console.print(f"[yellow]{name} exited ({proc.returncode}); restarting[/]")
                    time.sleep(1)
                    procs[name] = subprocess.Popen(specs[name], env=env)
    except KeyboardInterrupt:
        pass
    for proc in procs.values():
        proc.terminate()
    for proc in procs.values():
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
