"""Where a release comes from: an archive, a file or folder, an HTTPS URL with a sha256,
a pip spec installed into a virtualenv, or a build artifact of the control plane's store
(``artifact:NAME@sha256:HEX``). Each source knows its digest before fetching."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import uuid
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.images import oci_source
from nebhx.runtime.staging import PROVENANCE, Budget, Source, fetch_artifact, file_hash
from nebhx.sealing.masking import excerpt
from nebhx.settings import REPO_DIR

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime.registries import RegistryLogin

ARCHIVES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
NAME_RE = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")


def describe(source: str, *, sha256: str | None, find_links: str | None,
              index_url: str | None, ctx: Context | None = None, home: Path | None = None,
              engine: str = "podman", login: RegistryLogin | None = None) -> Source:
    want = (sha256 or "").strip().lower() or None
    if want and not SHA_RE.match(want):
        raise BrickFailed(f"sha256 must be 64 hex digits, not {sha256!r}")
    if source.startswith("pip:"):
        spec = source[4:].strip()
        if not spec:
            raise BrickFailed("pip: source needs a package spec, e.g. pip:myapp==1.2")
        if want:
            raise BrickFailed("sha256 does not apply to a pip: source (pip checks what it "
                              "downloads); leave sha256 empty")
        version, pin, digest = _pip_resolve(spec, find_links, index_url, ctx)
        return Source("pip", source, digest,
                      lambda tmp, final, ctx: _pip([spec, pin], tmp, final, find_links, index_url, ctx),
                      version=version)
    if source.startswith("artifact:"):
        return _artifact_source(source, want)
    if source.startswith("oci:"):  # an image: sha256 names its archive in the artifact store
        return oci_source(source, want, home=home, engine=engine, login=login)
    if source.startswith(("http://", "https://")):
        if not want:
            raise BrickFailed(f"a sha256 is required to stage from a URL ({source})")
        return Source("http", source, want, lambda tmp, final, ctx: _download(source, want, tmp, ctx))
    path = source_path(source)
    if not path.exists():
        raise BrickFailed(f"release source {source!r} is neither an existing path, "
                          "an http(s) URL nor pip:SPEC")
    if want and path.is_dir():
        raise BrickFailed(f"sha256 is given but source {source!r} is a directory, which has no "
                          "single sha256: leave sha256 empty or stage an archive of it")
    digest = _tree_hash(path) if path.is_dir() else file_hash(path)
    if want and want != digest:
        raise BrickFailed(f"sha256 mismatch for {path}: expected {want}, got {digest}")
    return Source("dir" if path.is_dir() else "file", str(path.resolve()), digest,
                   lambda tmp, final, ctx: _unpack(path, path.name, tmp))


def _artifact_source(source: str, want: str | None) -> Source:
    from nebhx.runtime.artifact_ref import parse_reference
    try:
        name, sha = parse_reference(source)
    except ValueError as exc:
        raise BrickFailed(f"source: {exc}") from exc
    if want and want != sha:
        raise BrickFailed(f"sha256 {want} does not match the artifact's {sha} in {source}")
    return Source("artifact", source, sha, lambda tmp, final, ctx: _stage_artifact(name, sha, tmp, ctx, final))


def _stage_artifact(name: str, sha: str, tmp: Path, ctx: Context | None, final: Path | None = None) -> None:
    """Fetch a build artifact (an agent: through the execution API with its host token; the
    control plane's own hosts: from its store), check its sha256, unpack it like a tarball
    and keep its provenance next to it (``.nebhx-provenance.json``: commit, build run...).
    A Python bundle (build.python) gets its virtualenv at ``<release>/venv`` now, from its
    own wheels only: the switch then only moves a link."""
    import json
    part = tmp.parent / f".artifact-{uuid.uuid4().hex[:8]}"
    try:
        with part.open("wb") as out:
            record = fetch_artifact(name, sha, out, ctx)
        got = file_hash(part)
        if got != sha:
            raise BrickFailed(f"sha256 mismatch for artifact {name}: expected {sha}, got {got}; "
                              "nothing staged")
        if ctx:
            ctx.log("artifact %s sha256:%s verified (%d bytes)", name, sha[:12], part.stat().st_size)
        shown = name if name.endswith(ARCHIVES) or not tarfile.is_tarfile(part) else f"{name}.tar"
        _unpack(part, shown, tmp)
        from nebhx.runtime.bundle import bundle_requirement
        if final is not None and (requirement := bundle_requirement(tmp)):
            _pip([requirement], tmp, final, str(tmp / "wheels"), None, ctx)
        prov = {"artifact": name, "sha256": sha, **(record.get("provenance") or {})}
        (tmp / PROVENANCE).write_text(json.dumps(prov, indent=2, sort_keys=True))
    finally:
        part.unlink(missing_ok=True)


def _unpack(path: Path, name: str, tmp: Path) -> None:
    """Extract an archive into ``tmp``, or copy a file or a directory's contents there."""
    try:
        if path.is_dir():
            shutil.copytree(path, tmp, symlinks=True, dirs_exist_ok=True)
        elif name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
        elif name.endswith(ARCHIVES):
            with tarfile.open(path, "r:*") as tf:
                # "data" refuses absolute paths, '..', device files and links out of tmp.
                tf.extractall(tmp, filter="data")
        else:
            shutil.copy2(path, tmp / name)
    except (OSError, ValueError, EOFError, tarfile.TarError, zipfile.BadZipFile) as exc:
        raise BrickFailed(f"cannot unpack {name}: {exc}") from exc


def _download(url: str, want: str, tmp: Path, ctx: Context | None) -> None:
    import httpx
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "download"
    part = tmp.parent / f".download-{uuid.uuid4().hex[:8]}"
    digest = hashlib.sha256()
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=30) as resp, \
                part.open("wb") as out:
            if resp.status_code != 200:
                raise BrickFailed(f"download failed: HTTP {resp.status_code} for {url}")
            for chunk in resp.iter_bytes(1 << 20):
                if ctx:
                    ctx.check_cancelled()
                digest.update(chunk)
                out.write(chunk)
        got = digest.hexdigest()
        if got != want:
            raise BrickFailed(f"sha256 mismatch for {url}: expected {want}, got {got}")
        _unpack(part, name, tmp)
    except httpx.HTTPError as exc:
        raise BrickFailed(f"download failed for {url}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)


def _pip_options(find_links: str | None, index_url: str | None) -> list[str]:
    opts = ["--disable-pip-version-check", "--no-input"]
    if find_links:
        opts += ["--no-index", "--find-links", find_links]
    if index_url:
        opts += ["--index-url", index_url]
    return opts


def _pip_resolve(spec: str, find_links: str | None, index_url: str | None,
                 ctx: Context | None) -> tuple[str, str, str]:
    """What ``spec`` resolves to now (pip's dry run): the version of its distribution, a pin
    to install exactly that, and a sha256 over every resolved distribution and its archive
    hash. ``pip:app>=1`` so gets a new release id when app 1.1 is published."""
    import json
    import sys

    from nebhx.runtime import shell
    proc = shell.run([sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed",
                      "--quiet", "--report", "-", *_pip_options(find_links, index_url), spec],
                     ctx=ctx, timeout=600)
    try:
        items = json.loads(proc.stdout)["install"]
    except (ValueError, KeyError) as exc:
        raise BrickFailed(f"pip did not report what {spec!r} resolves to: "
                          f"{excerpt(proc.stdout, 300, ctx.mask if ctx else None)}") from exc
    named = NAME_RE.match(spec)
    if not named:
        raise BrickFailed(f"pip: source {spec!r} does not start with a distribution name")
    wanted = _canonical(named.group(1))
    resolved = sorted((_canonical(i["metadata"]["name"]), i["metadata"]["version"],
                       json.dumps(i.get("download_info", {}).get("archive_info", {}).get("hashes", {}),
                                  sort_keys=True)) for i in items)
    top = next((r for r in resolved if r[0] == wanted), None)
    if top is None:
        raise BrickFailed(f"pip resolved {spec!r} without installing {wanted} itself")
    digest = hashlib.sha256(json.dumps(resolved).encode()).hexdigest()
    return top[1], f"{wanted}=={top[1]}", digest


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503


def _pip(specs: list[str], tmp: Path, final: Path, find_links: str | None, index_url: str | None,
         ctx: Context | None) -> None:
    import sys

    from nebhx.runtime import shell
    venv = tmp / "venv"
    shell.run([sys.executable, "-m", "venv", str(venv)], ctx=ctx)
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir",
           *_pip_options(find_links, index_url)]
    shell.run([*cmd, *specs], ctx=ctx, timeout=1800)
    _relocate_venv(venv, final / "venv")


def _relocate_venv(venv: Path, final: Path) -> None:
    """A venv records its own path in script shebangs and activate scripts; it was built
    under a temp name, so point those at the path it is about to be renamed to."""
    old, new = os.fsencode(venv), os.fsencode(final)
    files = [p for p in (venv / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    for path in [*files, venv / "pyvenv.cfg"]:
        data = path.read_bytes()
        if old in data and b"\0" not in data[:1024]:
            path.write_bytes(data.replace(old, new))


def _tree_hash(root: Path, budget: Budget | None = None) -> str:
    """A content hash of a directory: relative paths, modes, file contents, link targets."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if budget is not None:
            budget.spend(root, files=1)
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            digest.update(f"L {rel} {os.readlink(path)}\n".encode())
        elif path.is_file():
            digest.update(f"F {rel} {path.stat().st_mode & 0o777:o} {file_hash(path, budget)}\n".encode())
        elif path.is_dir():
            digest.update(f"D {rel}\n".encode())
    return digest.hexdigest()


def planned_release_id(source: str, *, sha256: str | None, release_id: str | None,
                       readable: tuple[Path, ...], budget: Budget) -> tuple[str | None, str]:
    """The release id staging ``source`` would give, for a plan: ``(id, "")``, or ``(None, why it
    cannot be told before the run)``. Runs nothing (a pip: spec is resolved only by the run:
    resolving builds a local project's metadata, i.e. runs its build backend) and reads only
    regular files under ``readable``, within ``budget``. BrickFailed for what the run would refuse."""
    want = (sha256 or "").strip().lower() or None
    if want and not SHA_RE.match(want):
        raise BrickFailed(f"sha256 must be 64 hex digits, not {sha256!r}")
    if source.startswith("pip:"):
        if not source[4:].strip():
            raise BrickFailed("pip: source needs a package spec, e.g. pip:myapp==1.2")
        if want:
            raise BrickFailed("sha256 does not apply to a pip: source (pip checks what it downloads); "
                              "leave sha256 empty")
        return (release_id, "") if release_id else (None, "the release id of a pip: source is what pip "
                                                           "resolves at run time (give release_id to plan it)")
    if release_id:
        if source.startswith(("http://", "https://")) and not want:
            raise BrickFailed(f"a sha256 is required to stage from a URL ({source})")
        return release_id, ""
    if source.startswith("artifact:"):
        return _artifact_source(source, want).derived_id, ""
    if source.startswith("oci:"):
        from nebhx.runtime.containers import parse_image
        return parse_image(source)[1][:12], ""
    if source.startswith(("http://", "https://")):
        if not want:
            raise BrickFailed(f"a sha256 is required to stage from a URL ({source})")
        return want[:12], ""
    return _planned_path_id(source_path(source), want, readable, budget)


def source_path(source: str) -> Path:
    """A path source: absolute (or from ~) as given; a relative one from the agent's working
    folder, else, when nothing is there, from the nebhx installation, so the bundled examples'
    `examples/app` works wherever `nebhx up` (or the agent) was started."""
    path = Path(source).expanduser()
    if path.is_absolute() or path.exists():
        return path
    bundled = REPO_DIR / path
    return bundled if bundled.exists() else path


def _planned_path_id(path: Path, want: str | None, readable: tuple[Path, ...],
                     budget: Budget) -> tuple[str | None, str]:
    real = path.resolve()
    if not any(real.is_relative_to(folder) for folder in readable):
        shown = ", ".join(str(f) for f in readable)
        return None, (f"the release id is the hash of {path}, which is outside the folders a plan may "
                      f"read ({shown}; NEBHX_HOST_SOURCE_PATHS adds more); give release_id to plan it")
    if not real.exists():
        raise BrickFailed(f"release source {str(path)!r} is neither an existing path, "
                          "an http(s) URL nor pip:SPEC")
    if want and real.is_dir():
        raise BrickFailed(f"sha256 is given but source {str(path)!r} is a directory, which has no "
                          "single sha256: leave sha256 empty or stage an archive of it")
    try:
        digest = _tree_hash(path, budget) if path.is_dir() else file_hash(path, budget)
    except BrickFailed as exc:
        return None, f"the release id is the hash of {path}, and {exc}; give release_id to plan it"
    if want and want != digest:
        raise BrickFailed(f"sha256 mismatch for {path}: expected {want}, got {digest}")
    return digest[:12], ""
