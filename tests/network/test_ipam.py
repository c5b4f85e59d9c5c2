"""Address pools on both stores: allocation order, owners, reserved addresses, exhaustion,
release, and no duplicate under concurrent allocation."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from nebhx import BrickFailed, Context
from nebhx.bricks.planning import Planned
from nebhx.ipam import service as ipam
from nebhx.settings import get_settings
from nebhx.store.db import get_engine, session_scope
from nebhx_blocks.network.ipam import Allocate, Pool, Release


@pytest.fixture
def store(db_url, monkeypatch):
    """``db_url`` as the store the bricks use (their default session)."""
    monkeypatch.setenv("NEBHX_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()
    get_engine(db_url).dispose()


def test_pool_hands_out_lowest_free_skipping_reserved_and_exhausts(store):
    with session_scope(store) as s:
        view, changed = ipam.declare_pool(s, "tiny", "10.250.7.0/29", ["10.250.7.1"])
    assert changed and view.size == 5 and view.free == 5  # 8 - network - broadcast - gateway
    got = [ipam.allocate("tiny", f"o{i}", url=store)[0].address for i in range(5)]
    assert got == [f"10.250.7.{i}" for i in range(2, 7)]
    assert ipam.allocate("tiny", "o3", url=store) == (ipam.allocate("tiny", "o3", url=store)[0], False)
    with pytest.raises(ipam.PoolExhausted, match=r"pool 'tiny' \(10.250.7.0/29\) is exhausted: all 5"):
        ipam.allocate("tiny", "late", url=store)
    with session_scope(store) as s:
        assert ipam.release(s, pool="tiny", owner="o1").released == "10.250.7.3"
        assert ipam.release(s, pool="tiny", owner="o1").released == ""
    assert ipam.allocate("tiny", "late", url=store)[0].cidr == "10.250.7.3/29"


def test_ipv6_pools_hand_out_from_the_first_address(store):
    with session_scope(store) as s:
        assert ipam.declare_pool(s, "v6", "fd00:250::/120")[0].size == 255
        with pytest.raises(ipam.PoolError, match="at most 2"):
            ipam.declare_pool(s, "huge", "fd00::/64")
    assert ipam.allocate("v6", "a", url=store)[0].cidr == "fd00:250::1/120"


def test_bad_pools_are_refused_naming_what(store):
    with session_scope(store) as s:
        with pytest.raises(ipam.PoolError, match="host bits set: the network is 10.0.0.0/24"):
            ipam.declare_pool(s, "p", "10.0.0.5/24")
        with pytest.raises(ipam.PoolError, match="not a network"):
            ipam.declare_pool(s, "p", "10.0.0.0/33")
        with pytest.raises(ipam.PoolError, match="reserved address 10.9.0.1 is not in 10.0.0.0/24"):
            ipam.declare_pool(s, "p", "10.0.0.0/24", ["10.9.0.1"])
    with pytest.raises(ipam.PoolError, match="no address pool 'nope'"):
        ipam.allocate("nope", "x", url=store)
    with session_scope(store) as s:
        ipam.declare_pool(s, "p", "10.0.0.0/24")
    ipam.allocate("p", "x", url=store)
    with session_scope(store) as s:  # shrinking under an allocation is refused, nothing written
        with pytest.raises(ipam.PoolError, match="10.0.0.1 is allocated"):
            ipam.declare_pool(s, "p", "10.0.0.0/24", ["10.0.0.1"])
        with pytest.raises(ipam.PoolError, match="still holds 1 allocations"):
            ipam.delete_pool(s, name="p")
        assert ipam.pool_view(s, name="p").reserved == []


def test_concurrent_allocations_never_share_an_address(store):
    with session_scope(store) as s:
        ipam.declare_pool(s, "busy", "10.251.0.0/24")

    def worker(w: int) -> list[str]:
        return [ipam.allocate("busy", f"w{w}-{i}", url=store)[0].address for i in range(10)]

    with ThreadPoolExecutor(8) as pool:
        got = [a for batch in pool.map(worker, range(8)) for a in batch]
    assert len(got) == 80 and len(set(got)) == 80
    with session_scope(store) as s:
        assert ipam.pool_view(s, name="busy").allocated == 80


def test_runs_declaring_one_new_pool_at_once_all_succeed(store):
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda _: ipam.declare("same", "10.254.0.0/24", url=store), range(6)))
    assert [changed for _view, changed in got].count(True) == 1
    assert {view.cidr for view, _changed in got} == {"10.254.0.0/24"}


def test_bricks_declare_allocate_release_and_fail_clearly(store):
    ctx = Context(run_id="r1")
    assert Pool()(ctx, name="ov", cidr="10.252.0.0/30").size == 2
    assert Pool()(ctx, name="ov", cidr="10.252.0.0/30").changed is False
    a = Allocate()(ctx, pool="ov", owner="h1")
    assert (a.address, a.cidr, a.changed) == ("10.252.0.1", "10.252.0.1/30", True)
    again = Allocate()(ctx, pool="ov", owner="h1", port=445)
    assert (again.changed, again.endpoint) == (False, "10.252.0.1:445")
    assert Allocate().plan(ctx, Allocate.Inputs(pool="ov", owner="h1"))["changes"] is False
    Allocate()(ctx, pool="ov", owner="h2")
    with pytest.raises(BrickFailed, match="plan|exhausted"):
        Allocate().plan(ctx, Allocate.Inputs(pool="ov", owner="h3"))
    with pytest.raises(BrickFailed, match="address pool 'ov' .* is exhausted"):
        Allocate()(ctx, pool="ov", owner="h3")
    assert Release()(ctx, pool="ov", owner="h1").released == "10.252.0.1"
    assert Release()(ctx, pool="ov", owner="h1").released == ""
    assert Allocate()(ctx, pool="ov", owner="h3").address == "10.252.0.1"
    with pytest.raises(BrickFailed, match="host bits set"):
        Pool()(ctx, name="bad", cidr="10.252.0.1/30")


def test_plans_see_what_earlier_nodes_of_the_plan_declare_and_allocate(store):
    planned = Planned()
    ctx = Context(planned=planned)
    pool = Pool().plan(ctx, Pool.Inputs(name="fresh", cidr="10.253.0.0/24"))
    assert pool["changes"] is True
    planned.merge(pool["sets"])
    first = Allocate().plan(ctx, Allocate.Inputs(pool="fresh", owner="h1"))
    assert first["changes"] is True and "a new pool" in first["effect"]
    planned.merge(first["sets"])
    again = Allocate().plan(ctx, Allocate.Inputs(pool="fresh", owner="h1", port=445))
    assert again["changes"] is False and "a node before this one" in again["effect"]
    assert Allocate().plan(Context(planned=Planned()), Allocate.Inputs(pool="fresh", owner="h1"))["effect"].endswith(
        "(no such pool yet)")
