"""Layered config profiles: C3 order, merge with explain, strict templates, versions."""
from __future__ import annotations

import copy
import json

import pytest

from nebhx import BrickFailed
from nebhx.runtime.configs import ConfigError, layers, linearize, resolve, write

PROFILES = {
    "linux": {
        "values": {"os": "debian", "ntp": ["pool.ntp.org"], "db": {"port": 5432, "host": "localhost"}},
        "clusters": {"eu": {"ntp": ["eu.pool.ntp.org"]}},
        "hosts": {"h1": {"db": {"host": "10.0.0.1"}}},
    },
    "monitored": {"values": {"exporter": {"port": 9100}}},
    "db-on-linux": {
        "parents": ["linux", "monitored"],
        "values": {"db": {"port": 5433, "max_conn": 100}},
        "clusters": {"eu": {"db": {"max_conn": 200}}},
        "hosts": {"h1": {"db": {"max_conn": 300}}},
        "templates": {
            "postgresql.conf": "listen_addresses = '{{ db.host }}'\nport = {{ db.port }}\n"
                               "max_connections = {{ db.max_conn }}\n",
            "conf.d/ntp.conf": "{% for s in ntp %}server {{ s }}\n{% endfor %}",
        },
    },
}


def test_c3_order_like_python():
    profiles = {"o": {}, "a": {"parents": ["o"]}, "b": {"parents": ["o"]},
                "c": {"parents": ["a", "b"]}}
    assert linearize(profiles, "c") == ["c", "a", "b", "o"]

    class O: ...
    class A(O): ...
    class B(O): ...
    class C(A, B): ...
    assert [k.__name__.lower() for k in C.__mro__[:-1]] == linearize(profiles, "c")


def test_layers_order_profile_then_cluster_then_host():
    labels = [label for label, _ in layers(PROFILES, "db-on-linux", host="h1", cluster="eu")]
    assert labels == ["monitored", "linux", "db-on-linux", "linux@cluster:eu",
                      "db-on-linux@cluster:eu", "linux@host:h1", "db-on-linux@host:h1"]


def test_resolve_merges_and_explains_every_key():
    before = copy.deepcopy(PROFILES)
    r = resolve(PROFILES, "db-on-linux", host="h1", cluster="eu")
    assert r.values == {"os": "debian", "ntp": ["eu.pool.ntp.org"], "exporter": {"port": 9100},
                        "db": {"port": 5433, "host": "10.0.0.1", "max_conn": 300}}
    assert PROFILES == before  # pure: the inputs are not touched
    assert r.explain["db.max_conn"] == {
        "layer": "db-on-linux@host:h1", "value": 300,
        "overrode": [{"layer": "db-on-linux", "value": 100},
                     {"layer": "db-on-linux@cluster:eu", "value": 200}]}
    assert r.explain["db.host"]["layer"] == "linux@host:h1"
    assert r.explain["db.port"] == {"layer": "db-on-linux", "value": 5433,
                                    "overrode": [{"layer": "linux", "value": 5432}]}
    assert r.explain["ntp"]["layer"] == "linux@cluster:eu"  # lists are replaced, not merged
    assert r.explain["os"] == {"layer": "linux", "value": "debian", "overrode": []}
    assert set(r.explain) == {"os", "ntp", "db.port", "db.host", "db.max_conn", "exporter.port"}
    assert r.files["postgresql.conf"] == ("listen_addresses = '10.0.0.1'\nport = 5433\n"
                                          "max_connections = 300\n")
    assert r.files["conf.d/ntp.conf"] == "server eu.pool.ntp.org\n"


def test_structure_change_is_explained():
    profiles = {"base": {"values": {"db": {"port": 1, "host": "x"}}},
                "child": {"parents": ["base"], "values": {"db": "sqlite:///x"}}}
    r = resolve(profiles, "child")
    assert r.values == {"db": "sqlite:///x"}
    assert r.explain == {"db": {"layer": "child", "value": "sqlite:///x", "overrode": [
        {"layer": "base", "value": 1, "key": "db.port"},
        {"layer": "base", "value": "x", "key": "db.host"}]}}


def test_version_is_a_stable_content_hash():
    a = resolve(PROFILES, "db-on-linux", host="h1", cluster="eu")
    b = resolve(copy.deepcopy(PROFILES), "db-on-linux", host="h1", cluster="eu")
    assert a.version == b.version and len(a.version) == 16
    assert resolve(PROFILES, "db-on-linux", host="h2", cluster="eu").version != a.version
    reordered = dict(reversed(list(PROFILES.items())))
    assert resolve(reordered, "db-on-linux", host="h1", cluster="eu").version == a.version


def test_strict_undefined_names_template_and_key():
    profiles = {"app": {"values": {"port": 80},
                        "templates": {"app.ini": "port={{ port }}\nuser={{ user }}\n"}}}
    with pytest.raises(ConfigError, match=r"template 'app.ini' at line 2: 'user' is undefined"):
        resolve(profiles, "app")
    profiles["app"]["templates"] = {"x.conf": "{{ db.port }}"}
    with pytest.raises(BrickFailed, match=r"template 'x.conf'.*'db' is undefined"):
        resolve(profiles, "app")
    profiles["app"]["templates"] = {"bad.conf": "{% if %}"}
    with pytest.raises(ConfigError, match="'bad.conf' line 1: syntax error"):
        resolve(profiles, "app")
    profiles["app"]["templates"] = {"../evil": "x"}
    with pytest.raises(ConfigError, match="must be a relative path"):
        resolve(profiles, "app")


def test_cycles_unknown_parents_and_bad_profiles():
    with pytest.raises(ConfigError, match="cycle: a -> b -> c -> a"):
        resolve({"a": {"parents": ["b"]}, "b": {"parents": ["c"]}, "c": {"parents": ["a"]}}, "a")
    with pytest.raises(ConfigError, match="cycle: a -> a"):
        resolve({"a": {"parents": ["a"]}}, "a")
    with pytest.raises(ConfigError, match="'app' names unknown parent 'linx'"):
        resolve({"app": {"parents": ["linx"]}, "linux": {}}, "app")
    with pytest.raises(ConfigError, match="unknown profile 'nope'"):
        resolve({}, "nope")
    with pytest.raises(ConfigError, match=r"unknown keys \['valuse'\]"):
        resolve({"a": {"valuse": {}}}, "a")
    with pytest.raises(ConfigError, match="cannot order the parents of 'z'"):
        resolve({"o": {}, "x": {"parents": ["o"]}, "y": {"parents": ["o"]},
                 "p": {"parents": ["x", "y"]}, "q": {"parents": ["y", "x"]},
                 "z": {"parents": ["p", "q"]}}, "z")


def test_write_is_atomic_and_idempotent(tmp_path):
    r = resolve(PROFILES, "db-on-linux", host="h1", cluster="eu")
    configs = tmp_path / "services" / "pg" / "configs"
    path, changed = write(r, configs)
    assert changed and path == configs / r.version
    assert (path / "conf.d" / "ntp.conf").read_text() == "server eu.pool.ntp.org\n"
    assert json.loads((path / ".nebhx" / "values.json").read_text()) == r.values
    assert write(r, configs) == (path, False)
    assert sorted(p.name for p in configs.iterdir()) == [r.version]
