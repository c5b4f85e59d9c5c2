"""Run an Ansible playbook against this host (connection local), streaming per-task results.

The agent runs ``ansible-playbook`` on its own machine, so a playbook only ever touches the
host its node is for; the control plane never opens SSH to anything. The inventory has this
one host, its agent's labels as groups (``role=db`` -> group ``role_db``) and as the
``nebhx_labels`` variable, plus the graph's variables. A stdout callback shipped with
Nebh-X (``ansible_plugins/nebhx_events.py``) prints one JSON line per task result, read
while the playbook runs, so the node log shows each task as it ends.

Work folder: ``<home>/ansible/<run|plan>-<hash of run and node>/`` holding the playbook, the
inventory (mode 600: variables may hold secrets) and Ansible's own temp files; the brick
removes it when the playbook ends. A playbook file on the host runs in its own folder, so
its relative `templates/` and `files/` are found.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nebhx.bricks.base import BrickFailed, Cancelled
from nebhx.runtime.process import host_env
from nebhx.sealing.masking import excerpt

PLUGINS = Path(__file__).resolve().parent / "ansible_plugins"


@dataclass
class Outcome:
    totals: dict[str, int] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    returncode: int = 0
    stderr: str = ""

    def count(self, key: str) -> int:
        return int(self.totals.get(key, 0))

    def first_failure(self) -> dict[str, Any] | None:
        return next((t for t in self.tasks if t["status"] in ("failed", "unreachable")), None)


def group_name(key: str, value: str) -> str:
    """An Ansible-safe group name for one label (letters, digits and '_')."""
    return re.sub(r"\W", "_", f"{key}_{value}")


def agent_labels() -> dict[str, str]:
    """The labels this host's agent declared (`nebhx agent --label k=v`)."""
    raw = os.environ.get("NEBHX_AGENT_LABELS") or "{}"
    try:
        labels = json.loads(raw)
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def inventory(host: str, labels: dict[str, str], variables: dict[str, Any], groups: list[str]) -> dict:
    host_vars = {"ansible_connection": "local",
                 "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "nebhx_host": host, "nebhx_labels": labels, **variables}
    children = {name: {"hosts": {host: None}} for name in
                sorted({*(group_name(k, v) for k, v in labels.items()), *groups})}
    return {"all": {"hosts": {host: host_vars}, "children": children}}


def prepare(folder: Path, playbook: str | Path, inv: dict) -> tuple[Path, Path]:
    """Write the inventory (and the playbook when given as text) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tmp").mkdir(exist_ok=True)
    inv_path = folder / "inventory.yml"
    fd = os.open(inv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(inv, f, sort_keys=True)
    if isinstance(playbook, Path):
        return playbook, inv_path
    try:
        doc = yaml.safe_load(playbook)
    except yaml.YAMLError as exc:
        raise BrickFailed(f"playbook is not valid YAML: {exc}") from exc
    if not isinstance(doc, list) or not doc or not all(isinstance(p, dict) for p in doc):
        raise BrickFailed("playbook must be a YAML list of plays (each with `hosts` and `tasks`)")
    book = folder / "playbook.yml"
    book.write_text(playbook)
    return book, inv_path


def environment(folder: Path, facts: list[str]) -> dict[str, str]:
    env = host_env()
    for k in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(k, None)  # ansible-playbook runs on the system's Python, not the agent's venv
    env.update({"ANSIBLE_CALLBACK_PLUGINS": str(PLUGINS), "ANSIBLE_STDOUT_CALLBACK": "nebhx_events",
                "ANSIBLE_HOME": str(folder / "tmp"), "ANSIBLE_LOCAL_TEMP": str(folder / "tmp"),
                "ANSIBLE_REMOTE_TEMP": str(folder / "tmp"), "ANSIBLE_RETRY_FILES_ENABLED": "0",
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                "ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_DEPRECATION_WARNINGS": "0",
                "NEBHX_ANSIBLE_FACTS": ",".join(facts)})
    return env


def run_playbook(ctx: Any, book: Path, inv: Path, *, check: bool, facts: list[str],
                 timeout: float, log: bool = True) -> Outcome:
    """Run ``ansible-playbook``; every task result goes to ``ctx.log`` as it ends."""
    exe = shutil.which("ansible-playbook")
    if exe is None:
        raise BrickFailed("ansible-playbook is not installed on this host (apt-get install -y ansible-core)")
    cmd = [exe, "-i", str(inv), str(book), *(["--check", "--diff"] if check else [])]
    if log:
        ctx.log("$ %s", " ".join(cmd))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment(inv.parent, facts), cwd=str(book.parent))
    stop = threading.Event()
    killer = threading.Thread(target=_watch, args=(ctx, proc, stop, timeout), daemon=True)
    killer.start()
    outcome = Outcome()
    err: list[str] = []
    drain = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    drain.start()
    try:
        for line in proc.stdout:
            _take(ctx, outcome, line, log)
        outcome.returncode = proc.wait()
    finally:
        stop.set()
        drain.join(5)
    outcome.stderr = excerpt("".join(err), 3000, ctx.mask)
    if ctx.cancelled.is_set():
        raise Cancelled("cancelled")
    if getattr(proc, "timed_out", False):
        raise BrickFailed(f"ansible-playbook timed out after {timeout}s")
    return outcome


def _watch(ctx: Any, proc: subprocess.Popen, stop: threading.Event, timeout: float) -> None:
    """Kill the playbook on cancel or timeout (checked every 0.1 s while it runs)."""
    waited = 0.0
    while not stop.is_set() and proc.poll() is None:
        if ctx.cancelled.is_set() or waited >= timeout:
            proc.timed_out = waited >= timeout
            proc.kill()
            return
        stop.wait(0.1)
        waited += 0.1


def _take(ctx: Any, outcome: Outcome, line: str, log: bool) -> None:
    try:
        event = json.loads(line)
    except ValueError:
        if line.strip() and log:
            ctx.log("ansible: %s", line.rstrip())
        return
    if event.get("event") == "stats":
        outcome.totals, outcome.facts = event.get("totals") or {}, event.get("facts") or {}
        return
    outcome.tasks.append(event)
    if log:
        detail = f": {event['msg']}" if event.get("msg") else ""
        ctx.log("%s: %s [%s]%s", event["status"], event["task"], event["host"], detail)
        if event.get("diff"):
            ctx.log("%s", event["diff"])
