"""The suite runs what it claims: every test file is collected by `./dev test`'s own lanes
(tests/lanes.py), each test in exactly one lane, and no two test files share a base name."""
from __future__ import annotations

import subprocess
from collections import defaultdict
from pathlib import Path

from lanes import OWN_LANES, PYTEST, ROOT, STACK_MODULES

TESTS = Path(__file__).parent


def test_test_file_names_are_unique():
    """pytest imports test files by their base name (the folders are not packages): two files
    of one name make the whole run stop at collection. Catch it here with both paths named."""
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name.startswith("test_") or path.name == "conftest.py":
            seen[path.name].append(str(path.relative_to(TESTS)))
    twice = {name: paths for name, paths in seen.items() if len(paths) > 1 and name != "conftest.py"}
    assert not twice, f"rename one of each: {twice}"


def test_every_test_file_is_collected():
    """A folder pytest skips (its default `norecursedirs` has `build`) or a file that fails to
    import leaves tests that `./dev test` never runs. The lanes split exactly this collection
    (tests/lanes.py: folders of their own, the rest by marker), so it is checked once here."""
    proc = subprocess.run([*PYTEST, "--collect-only", "-q", "-p", "no:cacheprovider", "tests"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"the suite does not collect:\n{proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    collected = {line.split("::")[0] for line in proc.stdout.splitlines() if line.startswith("tests/")}
    files = {str(p.relative_to(ROOT)) for p in TESTS.rglob("test_*.py")}
    assert files - collected == set(), f"test files never collected: {sorted(files - collected)}"
    missing = [p for p in [*OWN_LANES, *STACK_MODULES] if not (TESTS / p).exists()]
    assert not missing, f"tests/lanes.py names folders or modules that do not exist: {missing}"
