"""Ansible: run a playbook on the node's host through its agent (connection local)."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from nebhx import Brick, BrickFailed, Context, HostRef, Ports
from nebhx.bricks.base import is_known
from nebhx.runtime import ansible


class Playbook(Brick):
    """Run an Ansible playbook against the node's host, with connection local.

    The playbook runs on the host's own agent (Debian `ansible-core` on that host), never
    from the control plane: the inventory holds that one host with `ansible_connection:
    local`. Its agent's labels become groups (`role=db` -> group `role_db`) and the
    `nebhx_labels` variable; `vars` (from the graph's inputs) become host variables, and
    `groups` adds groups of your own. Write plays for `hosts: all` or for a label group.

    Give the playbook as YAML text (`playbook`), or as a file on the host (`playbook_path`,
    e.g. inside a staged release: `<release path>/deploy/site.yml`), not both.

    Every task result is written to the node log as the task ends (`changed: install nginx
    [db1]`). Outputs are the recap's counts (`ok` counts changed tasks too, as Ansible's
    recap does) and the facts named in `facts` (from fact gathering or `set_fact`). A failed
    or unreachable task fails the node, naming the task and Ansible's message.

    The plan runs the playbook in check mode (`--check --diff`) on the host: it tells which
    tasks would change and shows their diffs. Modules without check mode support (command,
    shell) are skipped in a check, as Ansible does.
    """

    id = "ansible.playbook"
    on_repeat = "the playbook runs again (idempotent playbooks change nothing the second time)"
    title = "Ansible playbook"
    category = "config"
    icon = "terminal"

    class Inputs(Ports):
        host: HostRef = Field(description="The host the playbook configures (runs on its agent)")
        playbook: str | None = Field(default=None, description="The playbook, as YAML text")
        playbook_path: str | None = Field(default=None,
                                          description="Or a playbook file on the host (absolute path)")
        vars: dict[str, Any] = Field(default_factory=dict, description="Host variables for the inventory")
        groups: list[str] = Field(default_factory=list, description="More inventory groups for this host")
        facts: list[str] = Field(default_factory=list, description="Facts to return (e.g. "
                                 "`ansible_distribution`, or a name set with set_fact)")
        timeout_s: float = Field(default=600, gt=0, le=86400, description="Give up after this long")

        @model_validator(mode="after")
        def _one_playbook(self):
            if bool(self.playbook) == bool(self.playbook_path):
                raise ValueError("give exactly one of `playbook` (YAML text) and `playbook_path`")
            return self

    class Outputs(Ports):
        ok: int = Field(description="Tasks that ran fine (changed ones included)")
        changed: int = Field(description="Tasks that changed something")
        failed: int = Field(description="Failed tasks (0 when the node succeeds)")
        skipped: int = Field(description="Skipped tasks")
        facts: dict[str, Any] = Field(description="The requested facts, by name")

    def _prepare(self, ctx: Context, inputs: Inputs, kind: str) -> tuple[Path, Path]:
        if ctx.runtime.name != inputs.host:
            raise BrickFailed(f"this brick is for host {inputs.host!r} but runs on {ctx.runtime.name!r}")
        for g in inputs.groups:
            if not g.isidentifier():
                raise BrickFailed(f"groups: {g!r} is not an Ansible group name (letters, digits, '_')")
        inv = ansible.inventory(inputs.host, ansible.agent_labels(), inputs.vars, inputs.groups)
        book: str | Path = inputs.playbook or ""
        if inputs.playbook_path:
            book = ctx.runtime.confine(inputs.playbook_path, param="playbook_path")
            if not book.is_file():
                raise BrickFailed(f"playbook_path: {book} is not a file on {inputs.host}")
        key = hashlib.sha1(f"{ctx.run_id}/{ctx.node_id}".encode()).hexdigest()[:12]
        folder = ctx.runtime.home / "ansible" / f"{kind}-{key}"
        return ansible.prepare(folder, book, inv)

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        book, inv = self._prepare(ctx, inputs, "run")
        try:
            out = ansible.run_playbook(ctx, book, inv, check=False, facts=inputs.facts,
                                       timeout=inputs.timeout_s)
        finally:
            shutil.rmtree(inv.parent, ignore_errors=True)  # the inventory may hold secrets; nothing is kept
        failure = out.first_failure()
        if failure or out.returncode != 0:
            raise BrickFailed(ctx.mask(_failure_text(failure, out)))
        ctx.log("recap: ok=%d changed=%d failed=%d skipped=%d", out.count("ok"), out.count("changed"),
                out.count("failures"), out.count("skipped"))
        return self.Outputs(ok=out.count("ok"), changed=out.count("changed"), failed=out.count("failures"),
                            skipped=out.count("skipped"),
                            facts={f: out.facts[f] for f in inputs.facts if f in out.facts})

    def plan(self, ctx: Context, inputs: Inputs) -> dict[str, Any]:
        """Check mode on the host: the tasks that would change, with their diffs."""
        if not is_known(inputs):
            return {"effect": f"runs a playbook on {inputs.host} once its inputs are known", "changes": None}
        book, inv = self._prepare(ctx, inputs, "plan")
        try:
            out = ansible.run_playbook(ctx, book, inv, check=True, facts=inputs.facts,
                                       timeout=inputs.timeout_s, log=False)
        finally:
            shutil.rmtree(inv.parent, ignore_errors=True)  # the inventory may hold secrets; nothing is kept
        failure = out.first_failure()
        if failure or out.returncode != 0:
            raise BrickFailed(ctx.mask("in check mode: " + _failure_text(failure, out)))
        would = [t for t in out.tasks if t["status"] == "changed"]
        effect = (f"run the playbook on {inputs.host}: {len(would)} task(s) would change "
                  f"({', '.join(t['task'] for t in would)})" if would else
                  f"nothing: every task of the playbook is already satisfied on {inputs.host}")
        return {"effect": effect, "changes": bool(would),
                # A diff may show a secret the graph passed in `vars`: masked like the log.
                "tasks": [{"task": t["task"], "status": t["status"], "diff": ctx.mask(t.get("diff", ""))}
                          for t in out.tasks]}


def _failure_text(failure: dict | None, out: ansible.Outcome) -> str:
    if failure:
        return (f"task {failure['task']!r} {failure['status']} on {failure['host']}: "
                f"{failure.get('msg') or 'no message'}")
    return f"ansible-playbook exited {out.returncode}: {out.stderr.strip()[-1500:] or 'no output'}"
