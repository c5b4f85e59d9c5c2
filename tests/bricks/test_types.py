"""The wiring rule and how port types are read from pydantic models."""
from __future__ import annotations

import json

import pytest
from pydantic import Field

from nebhx import Address, Brick, HostRef, Ports, Secret, Url, VolumeUrl
from nebhx.bricks.registry import brick_spec
from nebhx.bricks.types import PARENTS, fits
from support import ROOT

CONTRACT = json.loads((ROOT / "tests" / "contract" / "port_types.json").read_text())


@pytest.mark.parametrize("case", CONTRACT["cases"], ids=lambda c: f"{c['out']}->{c['in']}")
def test_fits(case):
    """The cases the editor's wiring test reads too (tests/contract/port_types.json)."""
    assert fits(case["out"], case["in"]) is case["ok"]


def test_the_type_table_is_the_shared_one():
    assert PARENTS == CONTRACT["parents"]


class LinuxHost(Brick):
    """A base Linux machine."""

    id = "test.linux_host"
    category = "hosts"

    class Inputs(Ports):
        host: HostRef
        packages: list[str] = Field(default_factory=list)
        data: VolumeUrl | None = None

    class Outputs(Ports):
        address: Address
        console: Url
        root_password: Secret

    def run(self, ctx, inputs):
        raise NotImplementedError


class DbOnLinux(LinuxHost):
    """A database on Linux: the Linux ports plus its own."""

    id = "test.db_on_linux"

    class Inputs(LinuxHost.Inputs):
        packages: list[str] = Field(default_factory=lambda: ["postgresql"])
        port: int = 5432


def test_subclass_inherits_ports_and_overrides_defaults():
    spec = brick_spec(DbOnLinux)
    ins = {p["name"]: p for p in spec["inputs"]}
    assert spec["parent"] == "test.linux_host"
    assert spec["docs"] == "A database on Linux: the Linux ports plus its own."
    assert ins["host"]["type"] == "HostRef" and ins["host"]["required"]
    assert ins["data"]["type"] == "VolumeUrl" and not ins["data"]["required"]
    assert ins["packages"]["type"] == "string[]"
    assert ins["port"]["default"] == 5432
    assert DbOnLinux.host_input == "host"
    assert {p["name"]: p["type"] for p in spec["outputs"]} == {
        "address": "Address", "console": "Url", "root_password": "Secret"}
    assert DbOnLinux.Inputs(host="h1").packages == ["postgresql"]


def test_a_brick_without_an_id_is_refused():
    with pytest.raises(TypeError, match="must set a unique class attribute 'id'"):
        class NoId(Brick):
            pass
