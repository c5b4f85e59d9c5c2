"""The ``nebhx`` command."""
from __future__ import annotations

import logging

import typer

from nebhx.cli import (brickpkgs, builds, configs, graphs, housekeeping, mail, pools, releases, runs, serve,
                       service_ops, users, volumes)

app = typer.Typer(help="Nebh-X: deployment graphs of typed bricks, run by distributed workers.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

app.command()(serve.up)
app.command()(serve.down)
app.command()(serve.api)
app.command()(serve.worker)
app.command()(serve.agent)
app.command()(serve.scheduler)
app.command()(graphs.bricks)
app.command()(graphs.validate)
app.command()(graphs.plan)
app.command("import")(graphs.import_)
app.command()(graphs.export)
app.command()(graphs.diff)
app.command()(housekeeping.gc)
app.command()(housekeeping.retention)
app.command()(graphs.secret)
app.command()(runs.run)
app.command("runs")(runs.list_runs)
app.command()(runs.show)
app.command()(runs.cancel)
app.command()(runs.retry)
app.command()(runs.approve)
app.command()(runs.reject)
app.command()(runs.services)
app.command()(runs.audit)
app.command()(mail.mail)
app.command()(builds.artifacts)
app.command()(users.login)
app.command()(users.logout)
releases.register(app)  # releases, rollback
app.command()(releases.why)
service_ops.register(app)  # pin, history, logs
app.add_typer(configs.app, name="config")
app.add_typer(users.user_app, name="user")
app.add_typer(users.token_app, name="token")
app.add_typer(users.hosts_app, name="hosts")
app.add_typer(builds.trigger_app, name="trigger")
app.add_typer(volumes.app, name="volumes")
app.add_typer(housekeeping.delete_app, name="delete")
app.add_typer(pools.app, name="pools")
app.add_typer(brickpkgs.app, name="brick-packages")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app()


if __name__ == "__main__":
    main()
