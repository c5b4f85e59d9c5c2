"""Write src/test/palette.json, the palette the editor's tests use, from the live registry.

The built-in bricks plus the test bricks (tests/testbricks), as GET /api/bricks answers them.
Run from frontend/: `npm run fixture:palette`.
"""
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("NEBHX_BLOCKS_PATH", str(ROOT / "tests" / "testbricks"))
sys.path.insert(0, str(ROOT / "backend"))

from nebhx.bricks.registry import get_registry  # noqa: E402

palette = get_registry().palette()
for brick in palette["bricks"]:
    src = Path(brick.get("source") or "")
    if src.is_absolute() and ROOT in src.parents:
        brick["source"] = str(src.relative_to(ROOT))
palette["bricks"].sort(key=lambda b: b["id"])
out = Path(__file__).resolve().parents[1] / "src" / "test" / "palette.json"
out.write_text(json.dumps(palette, indent=1) + "\n", encoding="utf-8")
print(f"{out}: {len(palette['bricks'])} bricks, {len(palette['errors'])} errors")
