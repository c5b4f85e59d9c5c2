"""An Ansible stdout callback: one JSON line per task result, then the run's stats.

Loaded by ``ansible-playbook`` itself (ANSIBLE_CALLBACK_PLUGINS), in Ansible's own Python,
so it imports nothing of Nebh-X. ``nebhx.runtime.ansible`` reads the lines as they come and
streams them into the node's log. Facts named in NEBHX_ANSIBLE_FACTS (comma separated) are
collected from every result that sets facts (gather_facts, set_fact) and sent at the end.
"""
from __future__ import annotations

import json
import os
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: nebhx_events
    type: stdout
    short_description: JSON lines for Nebh-X
    description: One JSON object a line per task result; the stats and requested facts at the end.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "nebhx_events"

    def __init__(self):
        super().__init__()
        self._wanted = [f for f in os.environ.get("NEBHX_ANSIBLE_FACTS", "").split(",") if f]
        self._facts = {}

    def _emit(self, event):
        sys.stdout.write(json.dumps(event, default=str) + "\n")
        sys.stdout.flush()

    def _result(self, status, result):
        res = result._result
        facts = res.get("ansible_facts") or {}
        for name in self._wanted:
            if name in facts:
                self._facts[name] = facts[name]
        msg = res.get("msg") or res.get("stderr") or ""
        if status in ("ok", "changed") and not res.get("diff"):
            msg = ""  # an ok task's msg is noise; a failure's is the reason
        self._emit({"event": "task", "status": status, "task": result._task.get_name(),
                    "host": result._host.get_name(), "msg": str(msg)[:2000],
                    "diff": _diff_text(res.get("diff"))})

    def v2_runner_on_ok(self, result):
        self._result("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_playbook_on_stats(self, stats):
        totals = {k: sum(getattr(stats, k).values()) for k in
                  ("ok", "changed", "failures", "skipped", "dark", "rescued", "ignored")
                  if hasattr(stats, k)}
        self._emit({"event": "stats", "totals": totals, "facts": self._facts})


def _diff_text(diff):
    """Ansible's diff (a dict or list of dicts with before/after) as short unified text."""
    if not diff:
        return ""
    import difflib
    out = []
    for d in diff if isinstance(diff, list) else [diff]:
        if "prepared" in d:
            out.append(str(d["prepared"]))
            continue
        before, after = str(d.get("before", "")), str(d.get("after", ""))
        if before == after:
            continue
        out.extend(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                        str(d.get("before_header", "before")),
                                        str(d.get("after_header", "after")), lineterm=""))
    return "\n".join(out)[:4000]
