"""The glue bricks as plain objects."""
from __future__ import annotations

import pytest

from nebhx import BrickFailed, Context
from nebhx_blocks.core.glue import Merge, ShareSettings, Template


def test_template_renders_and_fails_on_missing_key():
    assert Template()(template="{{ a }}-{{ b.c }}", values={"a": 1, "b": {"c": 2}}).text == "1-2"
    with pytest.raises(BrickFailed, match="'b' is undefined"):
        Template()(template="{{ a }}{{ b }}", values={"a": 1})


def test_merge_is_deep_and_later_wins():
    out = Merge()(base={"a": {"x": 1, "y": 1}, "k": [1]}, override={"a": {"y": 2}, "k": [2]},
                  more=[{"a": {"z": 3}}]).result
    assert out == {"a": {"x": 1, "y": 2, "z": 3}, "k": [2]}


def test_share_settings_masks_the_password():
    ctx = Context(secrets=["p@ss"])
    out = ShareSettings()(ctx, address="files.local:445", share="/data/", login="app", password="p@ss",
                          domain="CORP")
    assert out.unc == "//files.local/data"
    assert out.mount_options.get_secret_value() == "username=app,password=p@ss,domain=CORP,vers=3.0"
    assert "p@ss" not in str(out) and "p@ss" not in repr(out.settings)
    assert all("p@ss" not in line for line in ctx.lines)
