"""Write src/test/palette.json, the palette the editor's tests use, from the live registry.

The built-in bricks plus the test bricks (tests/testbricks), as GET /api/bricks answers them.
Run from frontend/: `npm run fixture:palette`. With `--check`, write nothing and exit 1 when
the file differs from what it would write (tests/bricks/test_palette_fixture.py runs this).
"""
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ["NEBHX_BLOCKS_PATH"] = str(ROOT / "tests" / "testbricks")  # what the fixture is made of
sys.path.insert(0, str(ROOT / "backend"))

from nebhx.bricks.registry import get_registry  # noqa: E402

palette = get_registry().palette()
for brick in palette["bricks"]:
    src = Path(brick.get("source") or "")
    if src.is_absolute() and ROOT in src.parents:
        brick["source"] = str(src.relative_to(ROOT))
palette["bricks"].sort(key=lambda b: b["id"])
out = Path(__file__).resolve().parents[1] / "src" / "test" / "palette.json"
text = json.dumps(palette, indent=1) + "\n"
if "--check" in sys.argv[1:]:
    if not out.exists() or out.read_text(encoding="utf-8") != text:
        old = json.loads(out.read_text(encoding="utf-8"))["bricks"] if out.exists() else []
        added = sorted({b["id"] for b in palette["bricks"]} - {b["id"] for b in old})
        gone = sorted({b["id"] for b in old} - {b["id"] for b in palette["bricks"]})
        sys.exit(f"{out} is stale (bricks added: {added or 'none'}, removed: {gone or 'none'}, "
                 "or a brick changed): run `cd frontend && npm run fixture:palette`")
    print(f"{out}: current ({len(palette['bricks'])} bricks)")
else:
    out.write_text(text, encoding="utf-8")
    print(f"{out}: {len(palette['bricks'])} bricks, {len(palette['errors'])} errors")
