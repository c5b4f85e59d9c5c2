"""The palette loads from folders and entry points; broken modules are named, not fatal."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from nebhx.bricks.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]

BRICK = '''
from nebhx import Brick, Ports

class {name}(Brick):
    """{doc}"""
    id = "{bid}"
    category = "custom"

    class Outputs(Ports):
        v: str = "x"

    def run(self, ctx, inputs):
        return self.Outputs()
'''


def write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_builtin_palette_loads_without_errors():
    reg = load_registry([ROOT / "blocks"])
    assert reg.errors == []
    assert {"core.template", "core.merge", "core.share_settings"} <= set(reg.bricks)
    spec = reg.specs["core.share_settings"]
    assert spec["category"] == "core" and "network-share" in spec["docs"]


def test_broken_module_and_duplicate_id_are_reported_with_their_file(tmp_path):
    write(tmp_path, "team/good.py", BRICK.format(name="Good", doc="Good one", bid="team.good"))
    dup = write(tmp_path, "team/dup.py", BRICK.format(name="Dup", doc="Clash", bid="core.template"))
    broken = write(tmp_path, "team/broken.py", "import nonexistent_module_xyz\n")
    reg = load_registry([ROOT / "blocks", tmp_path])
    assert "team.good" in reg.bricks
    assert reg.bricks["core.template"].__module__ == "nebhx_blocks.core.glue"
    messages = {e.source: e.message for e in reg.errors}
    assert "nonexistent_module_xyz" in messages[str(broken)]
    assert "duplicate brick id 'core.template'" in messages[str(dup)]


def test_user_bricks_can_inherit_from_builtin_ones(tmp_path):
    write(tmp_path, "mine.py", '''
        from nebhx_blocks.core.glue import Template

        class Motd(Template):
            """Message of the day."""
            id = "team.motd"
            category = "team"
    ''')
    reg = load_registry([ROOT / "blocks", tmp_path])
    assert reg.errors == []
    assert reg.specs["team.motd"]["parent"] == "core.template"


def test_entry_point_bricks_are_loaded(tmp_path, monkeypatch):
    pkg = tmp_path / "site"
    write(pkg, "acme_bricks.py", BRICK.format(name="Acme", doc="From a package", bid="acme.thing"))
    dist = pkg / "acme_bricks-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-bricks\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nebhx.bricks]\nacme = acme_bricks\n")
    monkeypatch.syspath_prepend(str(pkg))
    reg = load_registry([ROOT / "blocks"])
    assert "acme.thing" in reg.bricks
    assert reg.sources["acme.thing"] == "entry point acme = acme_bricks"
    sys.modules.pop("acme_bricks", None)
