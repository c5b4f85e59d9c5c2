"""pytest imports test files by their base name (the folders are not packages): two files of
one name make the whole run stop at collection. Catch it here with both paths named."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path


def test_test_file_names_are_unique():
    seen: dict[str, list[str]] = defaultdict(list)
    for path in Path(__file__).parent.rglob("*.py"):
        if path.name.startswith("test_") or path.name == "conftest.py":
            seen[path.name].append(str(path.relative_to(Path(__file__).parent)))
    twice = {name: paths for name, paths in seen.items() if len(paths) > 1 and name != "conftest.py"}
    assert not twice, f"rename one of each: {twice}"
