"""cloud-init NoCloud seeds from layered config profiles.

A machine's cloud-config is the resolved ``values`` of a profile (``nebhx.runtime.configs``:
the same parents, cluster and host layers, the same explain), so "one user_data blob per
machine" becomes a base profile plus small overrides. The text is checked by cloud-init
itself (``cloud-init schema``) before anything is written, and the seed is written as a
version folder that is complete or absent:

    <home>/cloudinit/<machine>/<version>/user-data
                                         meta-data
                                         seed.iso      (when cloud-localds is installed)
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime import shell
from nebhx.runtime.configs import Resolved
from nebhx.sealing.masking import excerpt

HEADER = "#cloud-config\n"


@dataclass(frozen=True)
class Seed:
    user_data: str
    meta_data: str
    version: str


def build(resolved: Resolved, machine: str) -> Seed:
    """The user-data and meta-data texts of one machine; the version hashes both."""
    if resolved.files:
        raise BrickFailed(f"profile {resolved.profile!r} has templates ({', '.join(sorted(resolved.files))}); "
                          "a cloud-config is the profile's values, not rendered files")
    user_data = HEADER + yaml.safe_dump(resolved.values, sort_keys=True, default_flow_style=False)
    digest = hashlib.sha256(user_data.encode()).hexdigest()[:12]
    # A new instance-id on every change makes cloud-init treat the machine as new and apply
    # the whole config again, which is what a changed seed means.
    meta_data = yaml.safe_dump({"instance-id": f"{machine}-{digest}", "local-hostname": machine},
                               sort_keys=True)
    version = hashlib.sha256((user_data + meta_data).encode()).hexdigest()[:16]
    return Seed(user_data, meta_data, version)


def validate(user_data: str, *, ctx: Any = None) -> None:
    """Run ``cloud-init schema`` on the text; BrickFailed quoting cloud-init's complaint."""
    exe = shutil.which("cloud-init")
    if exe is None:
        raise BrickFailed("cloud-init is not installed on this host (apt-get install -y cloud-init): "
                          "it is needed to validate the cloud-config")
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(user_data)
    try:
        proc = shell.run([exe, "schema", "--config-file", f.name], ctx=ctx, timeout=120, check=False)
    finally:
        os.unlink(f.name)
    if proc.returncode != 0:
        raise BrickFailed(f"cloud-config is not valid by `cloud-init schema`: {_complaint(proc, f.name, ctx)}")


def _complaint(proc: Any, fname: str, ctx: Any) -> str:
    """cloud-init's error lines, without its empty headings, on one line."""
    lines = [ln.strip() for ln in (proc.stderr + proc.stdout).replace(fname, "user-data").splitlines()]
    kept = [ln for ln in lines if ln and not ln.endswith(":") and ln != "Error:"]
    return excerpt("; ".join(kept), 1500, ctx.mask if ctx else None) or f"exit {proc.returncode}"


# The schema `cloud-init schema` checks against, as Debian's cloud-init package ships it.
BUNDLED_SCHEMA = Path("/usr/lib/python3/dist-packages/cloudinit/config/schemas/schema-cloud-config-v1.json")


def validate_quick(user_data: str, *, ctx: Any = None) -> None:
    """The same check in-process against cloud-init's bundled JSON schema: a plan has a few
    seconds per host and `cloud-init schema` takes seconds to start. Without the file, the
    command itself."""
    if not BUNDLED_SCHEMA.is_file():
        return validate(user_data, ctx=ctx)
    import json

    import jsonschema
    schema = json.loads(BUNDLED_SCHEMA.read_text())
    checker = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(checker.iter_errors(yaml.safe_load(user_data)), key=lambda e: list(map(str, e.path)))
    if errors:
        shown = ", ".join(f"{'.'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors[:10])
        raise BrickFailed(f"cloud-config is not valid by cloud-init's schema ({BUNDLED_SCHEMA.name}): {shown}")


def write(seed: Seed, folder: Path, *, ctx: Any = None) -> tuple[Path, bool, bool]:
    """Write ``folder/<version>/``; returns (path, changed, has_iso). Built in a temp
    folder and renamed, so a seed is complete or absent."""
    final = folder / seed.version
    if final.is_dir():
        return final, False, (final / "seed.iso").is_file()
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".tmp-{seed.version}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        (tmp / "user-data").write_text(seed.user_data)
        (tmp / "meta-data").write_text(seed.meta_data)
        for name in ("user-data", "meta-data"):
            os.chmod(tmp / name, 0o600)  # user-data may hold password hashes or keys
        localds = shutil.which("cloud-localds")
        if localds:
            shell.run([localds, str(tmp / "seed.iso"), str(tmp / "user-data"), str(tmp / "meta-data")],
                      ctx=ctx, timeout=120)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():
                raise
            return final, False, (final / "seed.iso").is_file()  # a concurrent run won
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, True, bool(localds)
