"""Approval gates: a person decides whether the rollout goes on."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from nebhx import Brick, BrickFailed, Context, Ports, Secret, Url, WaitFor
from nebhx.runtime.notify import mail_server, post_webhook, send_email
from nebhx.settings import get_settings


class Approval(Brick):
    """Wait until someone approves or rejects, without holding a worker.

    The node turns `waiting` and says `message`. Approve or reject it with the editor's
    buttons, `nebhx approve RUN NODE` / `nebhx reject RUN NODE`, or
    `POST /api/runs/{run}/nodes/{node}/approve|reject` with `{"by": ..., "comment": ...}`;
    who decided and when is recorded (and audited). Approval succeeds the node; rejection
    **fails** it, so a downstream node with trigger `any_failed` can roll back. With
    `timeout_s` the node fails when nobody decided in time.

    Policy: `approvers` names who may decide (empty: anyone with `approver_role`, operator by
    default); `required` approvals from different people are needed (2 of 3 named approvers:
    `required: 2`); the person who started the run may reject it but approve it only with
    `starter_may_approve`; `on_expiry` says what `timeout_s` does: fail the gate (default) or
    approve it.

    When it starts waiting it e-mails `notify_to` (through `smtp_host`, by default the mail
    sink of `nebhx up`) and/or posts to
    `webhook_url`, with the question, the policy and a link to the gate in the editor.
    """

    id = "gate.approval"
    on_repeat = ''
    title = "Approval gate"
    category = "gate"

    class Inputs(Ports):
        message: str = Field(default="Approve to continue the rollout", description="What is being approved")
        timeout_s: float | None = Field(default=None, gt=0, description="Fail when nobody decides in time")
        notify_to: list[str] = Field(default_factory=list, description="E-mail these addresses when waiting")
        smtp_host: str | None = Field(default=None, description="SMTP server for the notification; "
                                      "by default the development mail sink of `nebhx up`")
        smtp_port: int | None = Field(default=None, ge=1, le=65535, description="By default the "
                                      "mail sink's port (NEBHX_MAIL_SINK), or 25 for another smtp_host")
        starttls: bool = False
        username: str | None = None
        password: Secret | None = None
        sender: str = Field(default="nebhx@localhost", description="From address of the notification")
        webhook_url: Url | None = Field(default=None, description="Also POST the question here")
        approvers: list[str] = Field(default_factory=list, description=(
            "Users who may decide; empty: anyone with approver_role"))
        approver_role: Literal["operator", "admin"] = Field(default="operator", description="The role deciding needs")
        required: int = Field(default=1, ge=1, le=20, description="Approvals from different people needed")
        starter_may_approve: bool = Field(default=False, description="May the run's starter approve it?")
        on_expiry: Literal["fail", "approve"] = Field(default="fail", description="What timeout_s does")

    class Outputs(Ports):
        approved: bool
        by: str
        at: str
        comment: str = ""

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        if inputs.approvers and inputs.required > len(inputs.approvers):
            raise BrickFailed(f"required is {inputs.required} but only {len(inputs.approvers)} approvers "
                              f"are named ({', '.join(inputs.approvers)})")
        # The editor opens this run with the gate selected (frontend: App's hash route).
        link = f"{get_settings().url.rstrip('/')}/#/runs/{ctx.run_id}/nodes/{ctx.node_id}"
        policy = {"approvers": inputs.approvers, "role": inputs.approver_role, "required": inputs.required,
                  "starter_may_approve": inputs.starter_may_approve, "on_expiry": inputs.on_expiry}
        text = (f"{inputs.message}\n\nRun {ctx.run_id}, node {ctx.node_id} is waiting for approval.\n"
                f"{self._who(policy)}\n"
                f"Open {link}\nor run: nebhx approve {ctx.run_id} {ctx.node_id}   "
                f"(or: nebhx reject {ctx.run_id} {ctx.node_id} --comment WHY)\n")
        notified = []
        if inputs.notify_to:
            send_email(*mail_server(inputs.smtp_host, inputs.smtp_port), inputs.sender, inputs.notify_to,
                       f"[nebhx] approval needed: {inputs.message}", text, starttls=inputs.starttls,
                       username=inputs.username,
                       password=inputs.password.get_secret_value() if inputs.password else None)
            notified += inputs.notify_to
            ctx.log("asked %s for approval", ", ".join(inputs.notify_to))
        if inputs.webhook_url:
            post_webhook(inputs.webhook_url, {"run": ctx.run_id, "node": ctx.node_id,
                                              "message": inputs.message, "link": link, "policy": policy})
            notified.append(inputs.webhook_url)
        raise WaitFor(inputs.message, timeout_s=inputs.timeout_s,
                      data={"notified": notified, "link": link, "policy": policy, "approvals": []})

    @staticmethod
    def _who(policy: dict) -> str:
        who = ", ".join(policy["approvers"]) if policy["approvers"] else f"anyone with the role {policy['role']}"
        starter = "" if policy["starter_may_approve"] else " (not the person who started the run)"
        return f"It needs {policy['required']} approval(s) from {who}{starter}."
