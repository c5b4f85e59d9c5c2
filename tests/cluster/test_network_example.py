"""examples/network-overlay.json on the three namespace hosts through the whole stack: the
pool's addresses on a VXLAN overlay between the hosts' agents, an SMB share on h1 at its
overlay address, checked from every host over the overlay; the password never shows."""
from __future__ import annotations

import json
import secrets
import subprocess
import sys

import pytest
from netns import ROOT

sys.path.insert(0, str(ROOT / "tests" / "examples"))
from plan_vs_run import compare  # noqa: E402

EXAMPLE = ROOT / "examples" / "network-overlay.json"


@pytest.fixture(scope="module")
def overlay_run(cluster):
    login, password = f"nbxsmb{secrets.token_hex(3)}", f"pw-{secrets.token_hex(8)}"
    inputs = {"file_server": "h1", "share_login": login, "share_password": password}
    doc = json.loads(EXAMPLE.read_text())
    with cluster.client() as c:
        resp = c.post("/graphs/plan", json={"graph": doc, "inputs": inputs})
    assert resp.status_code == 200, resp.text
    cluster.network_plan = resp.json()
    try:
        yield cluster.run(doc, inputs), inputs
    finally:
        subprocess.run(["userdel", login], capture_output=True)


def test_example_builds_the_overlay_and_serves_the_share_over_it(cluster, overlay_run):
    run, inputs = overlay_run
    password = inputs["share_password"]
    failed = {k: n["error"] for k, n in run["nodes"].items() if n["status"] != "succeeded"}
    assert run["status"] == "succeeded", (failed, run["error"])
    addresses = run["outputs"]["addresses"]
    assert sorted(addresses) == ["10.250.0.1", "10.250.0.2", "10.250.0.3"]
    server = addresses[list(cluster.hosts).index("h1")]
    assert run["outputs"]["share"] == f"//{server}/files"
    assert len(run["outputs"]["round_trip_ms"]) == 3
    for host, address in zip(cluster.hosts, addresses):
        link = cluster.in_ns(host, "ip", "-j", "-d", "addr", "show", "dev", "vx4242").stdout
        info = json.loads(link)[0]
        assert info["linkinfo"]["info_data"]["local"] == cluster.address(host)
        assert f"{address}/24" in [f"{a['local']}/{a['prefixlen']}" for a in info["addr_info"]]
    assert password not in json.dumps(run)
    with cluster.client() as c:
        logs = "".join(c.get(f"/runs/{run['id']}/nodes/{n}/log").text for n in run["nodes"])
    assert "share //" in logs and password not in logs


def test_the_run_did_what_the_plan_said(cluster, overlay_run):
    run, inputs = overlay_run
    plan = cluster.network_plan
    assert inputs["share_password"] not in json.dumps(plan)
    wrong, compared, _untold = compare(plan["nodes"], run["nodes"])
    assert not wrong, "\n".join(wrong)
    assert compared >= 12, compared  # pool, three allocations, three links and their changes...


def test_rerun_changes_nothing_and_keeps_the_addresses(cluster, overlay_run):
    run, inputs = overlay_run
    again = cluster.run(json.loads(EXAMPLE.read_text()), inputs)
    assert again["status"] == "succeeded", {k: n["error"] for k, n in again["nodes"].items()}
    assert again["outputs"]["addresses"] == run["outputs"]["addresses"]
    for node, out in again["nodes"].items():
        if "changed" in (out.get("outputs") or {}):
            changed = out["outputs"]["changed"]  # a fan-out node's: one per item
            assert not any(changed if isinstance(changed, list) else [changed]), node


def test_the_cli_shows_who_holds_which_address(cluster, overlay_run):
    run, _inputs = overlay_run
    env = {**cluster.env(), "NEBHX_TOKEN": cluster.admin_token, "COLUMNS": "200"}
    cli = lambda *a: subprocess.run([sys.executable, "-m", "nebhx.cli.main", "pools", *a],  # noqa: E731
                                    capture_output=True, text=True, env=env, timeout=60)
    listed = cli()
    assert "overlay" in listed.stdout and "3 of 254" in listed.stdout, listed.stdout + listed.stderr
    shown = json.loads(cli("show", "overlay", "--json").stdout)
    assert {a["owner"]: a["address"] for a in shown["allocations"]} == dict(
        zip(cluster.hosts, run["outputs"]["addresses"]))
    assert {a["run_id"] for a in shown["allocations"]} == {run["id"]}
    busy = cli("delete", "overlay")
    assert busy.returncode == 1 and "still holds 3 allocations" in busy.stderr
