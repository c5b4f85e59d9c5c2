"""A container image as a release source: ``oci:NAME@sha256:DIGEST``.

The release folder holds no files of the image, only ``.nebhx-image.json`` naming it (and
``.nebhx-provenance.json`` when it came from a build): the bytes live in the host's engine
store. The image is taken, in this order, from

1. the host's engine store, when it already holds NAME with that digest;
2. the control plane's artifact store, when ``sha256`` names the image archive build.image
   stored (an agent downloads it through the execution API): the archive's sha256 and the
   digest inside it are checked *before* it is loaded, so a wrong digest loads nothing;
3. a registry the host reaches (``podman pull NAME@sha256:DIGEST``), logged in when the
   stage was given a registry login (see nebhx.runtime.registries: the password is a secret,
   handed to the engine in a private file, never on its command line).

Retention removes release folders; an image no release names any more stays in the engine
store (``podman image prune`` frees it).
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from nebhx.bricks.errors import BrickFailed
from nebhx.runtime.containers import Engine, archive_digest, parse_image
from nebhx.runtime.staging import PROVENANCE, Source, fetch_artifact, file_hash

if TYPE_CHECKING:
    from nebhx.bricks.base import Context
    from nebhx.runtime.registries import RegistryLogin

IMAGE_FILE = ".nebhx-image.json"


def oci_source(source: str, archive_sha: str | None, *, home: Path | None, engine: str,
               login: RegistryLogin | None = None) -> Source:
    if home is None:
        raise BrickFailed("an oci: source needs a host home (stage it through release.stage)")
    name, digest = parse_image(source)
    eng = Engine.for_home(home, engine)
    return Source("oci", f"oci:{name}@sha256:{digest}", digest,
                  lambda tmp, final, ctx: _stage_image(eng, name, digest, archive_sha, tmp, ctx, login))


def _stage_image(eng: Engine, name: str, digest: str, archive_sha: str | None, tmp: Path,
                 ctx: Context | None, login: RegistryLogin | None = None) -> None:
    record: dict = {}
    if eng.resolve(name, digest) is not None:
        _log(ctx, "%s@sha256:%s is already in %s's store", name, digest[:12], eng.kind)
    elif archive_sha:
        record = _load_archive(eng, name, digest, archive_sha, tmp, ctx)
    else:
        try:
            eng.pull(name, digest, ctx, login)
        except BrickFailed as exc:
            raise BrickFailed(f"image {name}@sha256:{digest} is not in {eng.kind}'s store on this host, "
                              "no sha256 names its archive in the artifact store, and pulling it failed "
                              f"({exc}); nothing staged") from exc
    ref = eng.resolve(name, digest)
    if ref is None:
        raise BrickFailed(f"{eng.kind} does not hold {name} with digest sha256:{digest} after "
                          "fetching it (the digest names another image); nothing staged")
    meta = {"image": f"oci:{name}@sha256:{digest}", "name": name, "digest": digest,
            "engine": eng.kind, "ref": ref}
    (tmp / IMAGE_FILE).write_text(json.dumps(meta, indent=2))
    if record:
        prov = {**(record.get("provenance") or {}), "artifact": record.get("name"), "sha256": archive_sha,
                "image": meta["image"]}  # the ref, not the build's {name, digest, ref}
        (tmp / PROVENANCE).write_text(json.dumps(prov, indent=2, sort_keys=True))


def _load_archive(eng: Engine, name: str, digest: str, archive_sha: str, tmp: Path,
                  ctx: Context | None) -> dict:
    """Fetch the image archive ``archive_sha`` from the artifact store, check its sha256 and
    the digest it holds, then load it; the artifact's record."""
    part = tmp.parent / f".image-{uuid.uuid4().hex[:8]}.tar"
    try:
        with part.open("wb") as out:
            record = fetch_artifact(None, archive_sha, out, ctx)
        got = file_hash(part)
        if got != archive_sha:
            raise BrickFailed(f"sha256 mismatch for the image archive: expected {archive_sha}, "
                              f"got {got}; nothing staged")
        held = archive_digest(part, eng.kind)
        if held != digest:
            raise BrickFailed(f"image digest mismatch: the archive sha256:{archive_sha[:12]} holds "
                              f"sha256:{held}, the source names sha256:{digest}; nothing staged")
        _log(ctx, "image archive %s verified: %s@sha256:%s", record.get("name"), name, digest[:12])
        eng.load(part, ctx)
        return record
    finally:
        part.unlink(missing_ok=True)


def image_of(release: Path) -> dict:
    """The image a staged release names (empty for a release of files)."""
    try:
        data = json.loads((Path(release) / IMAGE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _image_ref(eng: Engine, image: dict, inputs, ctx: Context | None) -> str | None:
    """The store's reference of the release's image, pulled first when it is missing and
    ``inputs`` give a registry login."""
    from nebhx.runtime.registries import RegistryLogin
    ref = eng.resolve(image["name"], image["digest"])
    login = RegistryLogin.from_inputs(getattr(inputs, "registry_username", None),
                                      getattr(inputs, "registry_password", None),
                                      getattr(inputs, "registry_ca", None))
    if ref is None and login is not None:
        _log(ctx, "%s is not in %s's store: pulling it", image["image"], eng.kind)
        eng.pull(image["name"], image["digest"], ctx, login)
        ref = eng.resolve(image["name"], image["digest"])
    return ref


def _log(ctx: Context | None, msg: str, *args) -> None:
    if ctx:
        ctx.log(msg, *args)


def container_program(runtime, inputs, release: Path, fill,
                      ctx: Context | None = None) -> tuple[str, dict[str, str], str]:
    """What supervisord runs for ``service.run`` with a container runtime: the engine's
    ``run`` line for the image the release names, its environment, and the image.

    An image the host's store lost since it was staged (``podman image prune``, a new
    store) is pulled again when the inputs give a registry login.

    The data folder is mounted at ``data_mount`` and the config read-only under ``/config``;
    ``{data}`` and ``{config}`` in the command name those paths inside the container.
    """
    if "{release}" in inputs.command:
        raise BrickFailed("{release} has no meaning in a container (the image is the release): "
                          "drop it from the command")
    image = image_of(release)
    if not image.get("digest"):
        raise BrickFailed(f"release {release.name} of {inputs.service} names no image: stage "
                          "oci:NAME@sha256:DIGEST to run it with runtime " + inputs.runtime)
    eng = Engine.for_home(runtime.home, inputs.runtime)
    ref = _image_ref(eng, image, inputs, ctx)
    if ref is None:
        raise BrickFailed(f"{image['image']} is not in {eng.kind}'s store on host {runtime.name}: "
                          f"stage it with release.stage (engine {eng.kind}), or give "
                          "registry_username and registry_password to pull it")
    volumes, update = [], {}
    if inputs.data_path:
        data = runtime.confine(inputs.data_path, param="data_path")
        volumes.append((str(data), inputs.data_mount, False))
        update["data_path"] = inputs.data_mount
    if inputs.config_path:
        config = Path(inputs.config_path).resolve()
        inside = "/config" if config.is_dir() else f"/config/{config.name}"
        volumes.append((str(config), inside, True))
        update["config_path"] = inside
    args = fill(inputs.model_copy(update=update), release)
    engine_env = {k: v for k, v in eng.env().items()
                  if k in ("CONTAINERS_CONF", "CONTAINERS_STORAGE_CONF", "DOCKER_HOST")}
    command = eng.run_command(container=f"nbx-{inputs.service}{'-' + inputs.instance if inputs.instance else ''}",
                              image=ref, args=args, env_keys=list(inputs.env), volumes=volumes)
    return command, {**inputs.env, **engine_env}, image["image"]
