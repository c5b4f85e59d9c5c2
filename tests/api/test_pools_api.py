"""GET /api/pools shows the address pools runs declared and who holds which address;
releasing an owner's address and deleting a pool are an operator's and an admin's calls."""
from __future__ import annotations

from nebhx import Context
from nebhx_blocks.network.ipam import Allocate, Pool


def test_pools_show_usage_release_and_delete(api):
    ctx = Context(run_id="run-1")
    Pool()(ctx, name="ov", cidr="10.250.0.0/29")
    for owner in ("overlay/h1", "overlay/h2"):
        Allocate()(ctx, pool="ov", owner=owner)
    [pool] = api.get("/api/pools").json()
    assert (pool["name"], pool["size"], pool["allocated"], pool["free"]) == ("ov", 6, 2, 4)
    detail = api.get("/api/pools/ov").json()
    assert [(a["address"], a["owner"], a["run_id"]) for a in detail["allocations"]] == [
        ("10.250.0.1", "overlay/h1", "run-1"), ("10.250.0.2", "overlay/h2", "run-1")]

    resp = api.delete("/api/pools/ov/allocations", params={"owner": "overlay/h1"})
    assert resp.status_code == 200 and resp.json()["released"] == "10.250.0.1", resp.text
    assert api.delete("/api/pools/ov/allocations", params={"owner": "overlay/h1"}).json()["released"] == ""
    busy = api.delete("/api/pools/ov")
    assert busy.status_code == 409 and "still holds 1 allocations" in busy.json()["detail"]
    assert api.delete("/api/pools/ov", params={"force": True}).json() == {"pool": "ov", "released": 1}
    assert api.get("/api/pools").json() == []
    missing = api.get("/api/pools/ov")
    assert missing.status_code == 404 and "no address pool 'ov'" in missing.json()["detail"]
    assert api.delete("/api/pools/ov/allocations", params={"owner": "x"}).status_code == 404
