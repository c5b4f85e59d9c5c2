"""Host groups as plain objects: hosts.select over an inventory, hosts.split / core.split, their plans."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed, Context
from nebhx.bricks.base import Unknown
from nebhx.bricks.inventory import HostInfo, StaticInventory
from nebhx_blocks.core.glue import Split, Template
from nebhx_blocks.hosts.hosts import HostSplit, Select
from nebhx_blocks.release.releases import Stage, Switch

HOSTS = [HostInfo("web2", {"role": "web", "zone": "a"}, address="10.0.0.2"),
         HostInfo("web1", {"role": "web", "zone": "b"}, address="10.0.0.1"),
         HostInfo("web3", {"role": "web", "zone": "c"}, state="down"),
         HostInfo("db1", {"role": "db", "zone": "a"}, services=({"service": "app", "release": "r1"},))]


def ctx() -> Context:
    return Context(inventory=StaticInventory(HOSTS))


@pytest.mark.parametrize(("selector", "only_up", "picked"), [
    ("role=web", True, ["web1", "web2"]),              # sorted by name, the down host left out
    ("role=web", False, ["web1", "web2", "web3"]),
    ("role==web,zone=a", True, ["web2"]),
    ("role!=web", True, ["db1"]),
    ("zone in (a, c)", False, ["db1", "web2", "web3"]),
    ("role=web,zone notin (a)", True, ["web1"]),
    ("canary", True, []),
    ("!canary,name in (web1,db1)", True, ["db1", "web1"]),
    ("", True, ["db1", "web1", "web2"]),
])
def test_select_matches_labels(selector, only_up, picked):
    if not picked:
        with pytest.raises(BrickFailed):
            Select()(ctx(), selector=selector, only_up=only_up)
        return
    out = Select()(ctx(), selector=selector, only_up=only_up)
    assert out.hosts == picked and out.count == len(picked)


def test_an_empty_selection_fails_naming_the_selector_and_the_hosts_known():
    with pytest.raises(BrickFailed) as exc:
        Select()(ctx(), selector="role=web,zone=c")
    assert str(exc.value) == ("selector role=web,zone=c matches no host that is up; hosts known: "
                              "db1 (role=db, zone=a; up), web1 (role=web, zone=b; up), "
                              "web2 (role=web, zone=a; up), web3 (role=web, zone=c; down)")


@pytest.mark.parametrize("bad", ["role=web,,zone=a", "zone in ()", "role=(x)", "role = web = x", "zone in (a"])
def test_bad_selector_syntax_names_the_selector(bad):
    with pytest.raises(BrickFailed, match=r"bad selector .*expected key=value"):
        Select()(ctx(), selector=bad)
    with pytest.raises(BrickFailed) as exc:
        Select()(ctx(), selector=bad)
    assert repr(bad) in str(exc.value)


def test_select_logs_the_hosts_it_picked():
    c = ctx()
    Select()(c, selector="role=web")
    assert c.lines[-1].endswith("selector role=web picked 2 hosts: web1, web2")
    Select()(c, selector="zone=b")  # issue 17, item 8: never "1 hosts"
    assert c.lines[-1].endswith("selector zone=b picked 1 host: web1")
    assert Select().plan(c, Select.Inputs(selector="zone=b"))["effect"] == "would pick 1 host now: web1"


@pytest.mark.parametrize(("first", "n", "head"), [(1, 5, 1), (2, 5, 2), ("10%", 5, 1), ("40%", 5, 2),
                                                   ("30%", 5, 2), ("10%", 100, 10), ("100%", 3, 3),
                                                   (9, 3, 3), ("10%", 0, 0)])
def test_split_rounds_up_and_keeps_order(first, n, head):
    items = [f"h{i}" for i in range(n)]
    out = Split()(Context(), items=items, first=first)
    assert out.head == items[:head] and out.rest == items[head:]


@pytest.mark.parametrize("bad", [0, "0", "0%", "150%", "ten"])
def test_split_refuses_a_first_that_takes_nothing_or_too_much(bad):
    with pytest.raises(ValueError, match="first must be a count of at least 1 or a percentage"):
        Split()(Context(), items=[1, 2], first=bad)


def test_host_split_has_typed_ports():
    from nebhx.bricks.registry import brick_spec
    spec = brick_spec(HostSplit)
    assert [p["type"] for p in spec["inputs"] if p["name"] == "items"] == ["HostRef[]"]
    assert {p["name"]: p["type"] for p in spec["outputs"]} == {"head": "HostRef[]", "rest": "HostRef[]"}
    assert spec["host_input"] is None  # a list of hosts does not route the node to a host
    assert HostSplit()(Context(), items=["a", "b", "c"], first="50%").head == ["a", "b"]


def test_plans_tell_without_doing():
    assert Select().plan(ctx(), Select.Inputs(selector="role=web")) == {
        "effect": "would pick 2 hosts now: web1, web2", "changes": False,
        "outputs": {"hosts": ["web1", "web2"], "addresses": ["10.0.0.1", "10.0.0.2"], "count": 2}}
    with pytest.raises(BrickFailed, match="^selector role=x matches no host that is up"):
        Select().plan(ctx(), Select.Inputs(selector="role=x"))  # the plan shows it as "would fail: ..."
    split = Split().plan(Context(), Split.Inputs(items=[1, 2, 3], first="50%"))
    assert split["outputs"] == {"head": [1, 2], "rest": [3]}
    assert Template().plan(Context(), Template.Inputs(template="v{{ v }}", values={"v": 2}))["outputs"] == {"text": "v2"}
    assert Template().plan(Context(), Template.Inputs.model_construct(
        template="x", values=Unknown("(from a.b)")))["effect"] == "renders once its template and values are known"


def test_release_plans_read_the_host_itself(tmp_path):
    """A release brick's plan runs where the host's state is (its agent) and reads it there."""
    from nebhx.runtime import HostRuntime
    db1, web1 = HostRuntime("db1", tmp_path / "db1"), HostRuntime("web1", tmp_path / "web1")
    for rid in ("r1", "r2"):
        (tmp_path / rid).mkdir()
        (tmp_path / rid / "app.py").write_text(f"print({rid!r})\n")
        db1.releases.stage("app", str(tmp_path / rid), release_id=rid)
    db1.releases.switch("app", "r1")
    on = lambda rt: Context(runtime=rt, host=rt.name)  # noqa: E731
    switch = Switch().plan(on(db1), Switch.Inputs(host="db1", service="app", release="r2"))
    assert switch["effect"] == "switch app from r1 to r2" and switch["outputs"]["previous"] == "r1"
    assert switch["changes"] is True and switch["release"] == {"before": "r1", "after": "r2"}
    same = Switch().plan(on(db1), Switch.Inputs(host="db1", service="app", release="r1"))
    assert same["effect"] == "nothing: r1 is already current for app" and same["changes"] is False
    with pytest.raises(BrickFailed, match="release 'r2' of 'app' is not staged on host web1"):
        Switch().plan(on(web1), Switch.Inputs(host="web1", service="app", release="r2"))
    stage = Stage().plan(on(web1), Stage.Inputs(host="web1", service="app", source="/srv/app.tgz", release_id="r2"))
    assert stage["effect"] == "stage /srv/app.tgz as release r2 of app" and stage["changes"] is True
    assert stage["outputs"]["release"] == "r2" and stage["outputs"]["changed"] is True
    there = Stage().plan(on(db1), Stage.Inputs(host="db1", service="app", source="/srv/app.tgz", release_id="r2"))
    assert there["effect"] == "nothing: release r2 of app is staged" and there["changes"] is False


def test_the_examples_default_app_source_works_wherever_nebhx_was_started(tmp_path, monkeypatch):
    """Issue 17, item 8: the canary example's `app_source=examples/app` was taken from the
    server's working folder, so it failed when `nebhx up` was started elsewhere."""
    import json as _json
    from pathlib import Path as _Path

    from nebhx.runtime import HostRuntime
    from nebhx.settings import reset_settings
    root = _Path(__file__).resolve().parents[2]
    canary = _json.loads((root / "examples" / "canary-update.json").read_text())
    default = next(i["default"] for i in canary["inputs"] if i["name"] == "app_source")
    assert default == "examples/app"
    monkeypatch.chdir(tmp_path)  # nowhere near the repository
    monkeypatch.setenv("NEBHX_HOST_SOURCE_PATHS", str(root / "examples"))
    reset_settings()
    try:
        web1 = HostRuntime("web1", tmp_path / "web1")
        on = Context(runtime=web1, host="web1")
        planned = Stage().plan(on, Stage.Inputs(host="web1", service="web", source=default))
        staged = Stage()(on, host="web1", service="web", source=default)
        assert staged.changed and (_Path(staged.path) / "webapp.py").is_file()
        assert planned["outputs"]["release"] == staged.release  # the plan tells the same release
        (tmp_path / "examples" / "app").mkdir(parents=True)  # one where the agent runs wins
        (tmp_path / "examples" / "app" / "mine.py").write_text("print('mine')\n")
        mine = Stage()(on, host="web1", service="web", source=default)
        assert (_Path(mine.path) / "mine.py").is_file() and mine.release != staged.release
        with pytest.raises(BrickFailed, match="'examples/none' is neither an existing path"):
            Stage()(on, host="web1", service="web", source="examples/none")
    finally:
        reset_settings()
