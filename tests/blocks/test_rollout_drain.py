"""Drain through a balancer on any host (its agent check and read-only stats), and never the
last serving backend: two instances of the example app behind a real HAProxy, a real
supervisord and this host's agent-check responder, under load."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed
from nebhx.runtime.haproxy import HAProxy
from support import free_port
from test_rollout import CRASHES, Load, brick, get, host  # noqa: F401 - the fixture


@pytest.fixture
def central(host):  # noqa: F811
    """v1 on a and b; HAProxy with agent checks and stats, as a balancer on another host has."""
    h = host
    v1, c1 = h.prepare("1.0.0")
    for inst in ("a", "b"):
        h.switch(inst, v1, c1)
    h.lb_port, h.agent_port, h.stats_port = free_port(), free_port(), free_port()
    out = brick("lb.haproxy")(h.ctx(), host="h1", name="web", bind_port=h.lb_port,
                              backends=[f"127.0.0.1:{p}" for p in h.ports.values()], health_path="/health",
                              check_inter_ms=300, check_rise=1, check_fall=2, agent_port=h.agent_port,
                              agent_inter_ms=100, stats_port=h.stats_port)
    assert out.stats == f"127.0.0.1:{h.stats_port}"
    text = (h.rt.home / "haproxy" / "web" / "haproxy.cfg").read_text()
    assert "check inter 300ms fall 2 rise 1 agent-check" in text
    assert h.versions() == {"1.0.0"}
    h.remote = dict(lb=False, lb_stats=out.stats, lb_agent_port=h.agent_port)
    return h


def states(h) -> dict[str, str]:
    lb = HAProxy(h.rt.home / "haproxy" / "web")
    return {r["address"]: f"{r['admin']}/{r['operational']}" for r in lb.servers_state()}


def test_switch_and_rollback_drain_through_the_agent_check_under_load(central):
    h = central
    v2, c2 = h.prepare("2.0.0", greeting="hello v2")
    with Load(h.lb_port) as load:
        outs = [h.switch(i, v2, c2, **h.remote) for i in ("a", "b")]
        back = brick("rollout.rollback")(h.ctx(), host="h1", service="web", instance="a",
                                         lb_stats=h.remote["lb_stats"], lb_agent_port=h.agent_port)
    assert not load.errors, load.errors[:5]
    assert load.ok > 50 and load.seen == {"1.0.0", "2.0.0"}
    assert [s["step"] for s in outs[0].steps] == ["drain", "snapshot", "switch", "restart", "ready",
                                                  "checks", "enable"]
    assert back.changed and [s["step"] for s in back.steps][0] == "drain"
    assert set(states(h).values()) == {"ready/up"}  # both back in rotation
    assert not list((h.rt.home / "lbagent" / str(h.agent_port)).glob("srv_*"))  # 'up' again: an
    # operator's drain through the runtime API is not undone by the agent


def test_the_last_serving_backend_is_never_drained(central):
    h = central
    lb = HAProxy(h.rt.home / "haproxy" / "web")
    b = f"127.0.0.1:{h.ports['b']}"
    lb.set_server_state(lb.backend, lb.server(b)["server"], "maint")  # b is out: a serves alone
    v2, c2 = h.prepare("2.0.0")
    pid = h.rt.supervisor.status("web-a").pid
    for how in (h.remote, dict(lb=True)):
        with Load(h.lb_port) as load, pytest.raises(BrickFailed) as err:
            h.switch("a", v2, c2, **how)
        assert "is the last one serving" in str(err.value) and "nothing was changed" in str(err.value)
        assert not load.errors, load.errors[:5]
        assert get(h.ports["a"])["version"] == "1.0.0" and h.rt.supervisor.status("web-a").pid == pid
        assert states(h)[f"127.0.0.1:{h.ports['a']}"] == "ready/up"
    out = h.switch("a", v2, c2, keep_one_serving=False, **h.remote)  # said so: allowed
    assert out.changed and get(h.ports["a"])["version"] == "2.0.0"


def test_a_balancer_that_does_not_ask_the_agent_fails_before_any_change(central):
    h = central
    v2, c2 = h.prepare("2.0.0")
    with pytest.raises(BrickFailed, match=r"did not take 'drain' .*agent_port .* set in its lb.haproxy"):
        h.switch("a", v2, c2, **{**h.remote, "lb_agent_port": free_port()})
    assert get(h.ports["a"])["version"] == "1.0.0" and set(states(h).values()) == {"ready/up"}


def test_a_release_that_cannot_start_goes_back_through_the_agent_check(central):
    """Its backend is DOWN, not DRAIN, in the stats while it crashes: the drain of the way back
    holds all the same, and the way back ends enabled."""
    h = central
    bad, c2 = h.prepare("2.0.0", at_start=CRASHES)
    with Load(h.lb_port) as load, pytest.raises(BrickFailed, match="rolled_back: true"):
        h.switch("a", bad, c2, max_restarts=0, **h.remote)
    assert not load.errors, load.errors[:5]
    assert get(h.ports["a"])["version"] == "1.0.0" and set(states(h).values()) == {"ready/up"}
