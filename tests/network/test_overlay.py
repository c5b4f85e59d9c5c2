"""A VXLAN overlay over three namespace hosts, built by the net.* bricks: each host's
address comes from a pool (net.allocate), h1 and h2 give it to their VXLAN link, h3 to a
bridge its link joins (net.bridge); then a web server on each host is reached by the
others at its overlay address. Needs root and `ip netns`: fails saying so otherwise."""
from __future__ import annotations

import subprocess
import sys

import pytest
from nskit import Cluster, brick

from nebhx import BrickFailed, Context
from nebhx_blocks.network.ipam import Allocate, Pool, Release

VNI, PORT = 4242, 8080


def serve(c: Cluster, host: str, address: str) -> subprocess.Popen:
    root = c.workdir / "www" / host
    root.mkdir(parents=True)
    (root / "who").write_text(host)
    return c.spawn(f"web-{host}", [sys.executable, "-m", "http.server", "--bind", address, "--directory",
                                   str(root), str(PORT)], ns=c.ns(host))


def fetch(c: Cluster, host: str, address: str) -> str:
    code = ("import sys,time,urllib.request as u\n"
            "for _ in range(100):\n"
            "  try: print(u.urlopen(f'http://{sys.argv[1]}:%d/who', timeout=2).read().decode()); break\n"
            "  except OSError: time.sleep(0.05)\n" % PORT)
    return c.in_ns(host, sys.executable, "-c", code, address).stdout.strip()


def test_three_hosts_reach_each_other_over_pool_addresses(hosts, sqlite_store):
    c, ctx = hosts, Context(run_id="overlay-test")
    Pool()(ctx, name="overlay", cidr="10.250.0.0/24", reserved=["10.250.0.1"])
    cidr = {h: Allocate()(ctx, pool="overlay", owner=f"overlay/{h}").cidr for h in c.hosts}
    assert sorted(cidr.values()) == ["10.250.0.2/24", "10.250.0.3/24", "10.250.0.4/24"]
    underlay = [c.address(h) for h in c.hosts]
    vx = dict(vni=VNI, remotes=underlay)
    assert brick(c, "h3", "network.overlay:Bridge", "plan", host="h3", name="brov", cidr=cidr["h3"])["changes"]
    assert brick(c, "h3", "network.overlay:Bridge", host="h3", name="brov", cidr=cidr["h3"])["changed"]
    for h in c.hosts:
        where = {"bridge": "brov"} if h == "h3" else {"cidr": cidr[h]}
        out = brick(c, h, "network.overlay:Vxlan", host=h, local=c.address(h), **vx, **where)
        assert out["changed"] and out["remotes"] == sorted(set(underlay) - {c.address(h)})
    again = brick(c, "h1", "network.overlay:Vxlan", "plan", host="h1", local=c.address("h1"), cidr=cidr["h1"], **vx)
    assert again["changes"] is False, again
    assert not brick(c, "h1", "network.overlay:Vxlan", host="h1", local=c.address("h1"), cidr=cidr["h1"],
                     **vx)["changed"]

    addr = {h: cidr[h].split("/")[0] for h in c.hosts}
    for h in c.hosts:
        serve(c, h, addr[h])
    for h in c.hosts:
        for other in c.hosts:
            if other != h:
                assert fetch(c, h, addr[other]) == other, f"{h} -> {other} at {addr[other]}"

    # The host's own interface is never taken over, whatever the graph names.
    with pytest.raises(BrickFailed, match="eth0 exists and is a veth link, not a vxlan"):
        brick(c, "h1", "network.overlay:Vxlan", host="h1", local=c.address("h1"), name="eth0", **vx)
    with pytest.raises(BrickFailed, match="runs on 'h1'"):
        brick(c, "h1", "network.overlay:Bridge", host="h2", name="brov")

    # Teardown: links gone, addresses back in the pool.
    for h in c.hosts:
        assert brick(c, h, "network.overlay:Vxlan", host=h, local=c.address(h), state="absent", **vx)["changed"]
        assert Release()(ctx, pool="overlay", owner=f"overlay/{h}").released == addr[h]
    assert brick(c, "h3", "network.overlay:Bridge", host="h3", name="brov", state="absent")["changed"]
    assert "vx4242" not in c.in_ns("h1", "ip", "link").stdout
    assert "brov" not in c.in_ns("h3", "ip", "link").stdout


def test_a_changed_link_is_planned_then_made_again_and_removed(hosts):
    c, h = hosts, "h1"
    base = dict(host=h, name="nbxvt", local=c.address(h), remotes=[c.address("h2")], cidr="10.251.0.1/24")
    assert brick(c, h, "network.overlay:Vxlan", vni=77, **base)["changed"]
    changed = dict(base, remotes=[c.address("h3")])
    plan = brick(c, h, "network.overlay:Vxlan", "plan", vni=78, **changed)
    assert plan["changes"] is True and plan["steps"][:1] == ["replace nbxvt (its id is 77, not 78)"], plan
    assert brick(c, h, "network.overlay:Vxlan", "plan", vni=77, **changed)["steps"] == [
        f"add remote {c.address('h3')}", f"drop remote {c.address('h2')}"]
    assert brick(c, h, "network.overlay:Vxlan", vni=78, **changed)["changed"]
    shown = c.in_ns(h, "ip", "-d", "link", "show", "nbxvt").stdout
    assert "vxlan id 78 " in shown and "10.251.0.1/24" in c.in_ns(h, "ip", "addr", "show", "nbxvt").stdout
    assert c.address("h2") not in c.in_ns(h, "bridge", "fdb", "show", "dev", "nbxvt").stdout
    with pytest.raises(BrickFailed, match="not an address with a prefix"):
        brick(c, h, "network.overlay:Vxlan", vni=78, **dict(base, cidr="10.251.0.300/24"))
    gone = brick(c, h, "network.overlay:Vxlan", "plan", vni=78, state="absent", **changed)
    assert gone["changes"] is True and gone["steps"] == ["delete vxlan nbxvt"]
    assert brick(c, h, "network.overlay:Vxlan", vni=78, state="absent", **changed)["changed"]
    assert brick(c, h, "network.overlay:Vxlan", vni=78, state="absent", **changed)["changed"] is False
