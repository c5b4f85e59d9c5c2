"""Issue 18, trust leftover b: what a host reports outside any run (a command probe's output,
a failed systemctl's excerpt the liveness watcher hit) is kept with every stored secret masked,
whichever way the host reports: an agent over the execution API or the embedded one."""
from __future__ import annotations

from nebhx.auth.tokens import Principal
from nebhx.store.models import HostRow, utcnow

SECRET = "hunter2-db-password-9f3a"


def _report(excerpt: str) -> list[dict]:
    return [{"service": "web", "program": "web", "state": "RUNNING", "checked_at": utcnow().isoformat(),
             "last_probe": {"ok": False, "error": f"exit code 1: {excerpt}"},
             "liveness": {"status": "unhealthy", "notified": {"error": f"systemctl restart failed: {excerpt}"}}}]


def test_a_secret_in_what_a_host_reports_is_masked_before_it_is_kept(db_url, monkeypatch, tmp_path):
    from nebhx.execution.service import beat
    from nebhx.hosts.agent import reporter
    from nebhx.secrets.service import put_secret
    from nebhx.settings import reset_settings
    from nebhx.store.db import session_scope
    monkeypatch.setenv("NEBHX_HOME", str(tmp_path))
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    reset_settings()
    with session_scope() as s:
        put_secret(s, name="db_password", value=SECRET)
        for host in ("remote", "local"):
            s.add(HostRow(name=host, labels={}, last_seen=utcnow()))
    beat(principal=Principal(name="remote", role=None, kind="host"),
         services=_report(f"psql: password={SECRET} refused"), volumes=[{"name": "v", "error": SECRET[:12]}])
    reporter("local").beat(_report(f"connecting with '{SECRET}'"), None)
    with session_scope() as s:
        for host in ("remote", "local"):
            kept = s.get(HostRow, host)
            text = repr((kept.services, kept.volumes))
            assert "hunter2" not in text, text
            assert kept.services[0]["last_probe"]["error"].startswith("exit code 1: ") and "******" in text
    reset_settings()
