"""What a plan shows of a config change: which rendered files change, with a diff.

A rendered config version may hold a stored secret's value (a run renders with the real
values; a plan with ``******``). A version's old lines are shown only when the run that wrote
it had no secrets (``.nebhx/plain``, written by the bricks that render); otherwise a changed
file says how many lines changed and shows only the new side, which a plan renders masked.
"""
from __future__ import annotations

import difflib
import hashlib
from pathlib import Path

from nebhx.runtime.configs import META_DIR

PLAIN = "plain"  # in <version>/.nebhx/: the run that rendered it held no secret
MAX_FILES, MAX_LINES, MAX_FILE_BYTES = 20, 80, 256 * 1024


def mark_plain(folder: Path) -> None:
    """Record that ``folder``'s files were rendered without a secret (safe to show in a plan)."""
    meta = folder / META_DIR
    if meta.is_dir() and not (meta / PLAIN).exists():
        (meta / PLAIN).write_text("rendered without secrets: a plan may show these files\n")


def rendered_files(folder: Path | None) -> dict[str, str] | None:
    """A version folder's files (the values sidecar aside), or None when it is not there."""
    if folder is None or not folder.is_dir():
        return None
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and META_DIR not in rel.parts:
            out[rel.as_posix()] = path.read_bytes()[:MAX_FILE_BYTES].decode(errors="replace")
    return out


def hashes(files: dict[str, str]) -> dict[str, str]:
    return {name: hashlib.sha256(text.encode()).hexdigest() for name, text in files.items()}


def diff(old_folder: Path | None, new: dict[str, str]) -> list[dict]:
    """Each file that differs between the rendered version in ``old_folder`` and ``new``:
    ``{"file", "change": added|removed|modified, "diff"}``."""
    old = rendered_files(old_folder) or {}
    show_old = old_folder is not None and (old_folder / META_DIR / PLAIN).exists()
    out = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        change = "added" if a is None else "removed" if b is None else "modified"
        out.append({"file": name, "change": change, "diff": _text(name, a, b, show_old)})
        if len(out) >= MAX_FILES:
            break
    return out


def _text(name: str, a: str | None, b: str | None, show_old: bool) -> str:
    old_lines = (a or "").splitlines(keepends=True)
    new_lines = (b or "").splitlines(keepends=True)
    if a is not None and not show_old:
        shown = [f"--- {name} (running: {len(old_lines)} lines, not shown: rendered with secrets "
                 "or by an older Nebh-X)\n", f"+++ {name}\n", *("+" + line for line in new_lines)]
    else:
        shown = list(difflib.unified_diff(old_lines, new_lines, f"{name} (running)", f"{name} (new)"))
    cut = shown[:MAX_LINES]
    text = "".join(line if line.endswith("\n") else line + "\n" for line in cut)
    return text + (f"... {len(shown) - MAX_LINES} more lines\n" if len(shown) > MAX_LINES else "")
