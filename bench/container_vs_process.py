"""Container vs process launcher: time from release.switch to ready for the example app.

    .venv/bin/python bench/container_vs_process.py [--rounds N]     (root: podman)

The example app (examples/app/webapp.py) runs both ways on host `local` under supervisord,
readiness `GET /health`: as a process (`python3 webapp.py`) and as a podman container of an
image holding the same python3 (this machine's, copied with the libraries it links and its
standard library into a FROM scratch image: no base image can be pulled here). Two releases
of each (VERSION v1, v2) are staged first; each round switches to the other release and runs
service.run again, which restarts the program; the clock runs from the switch until
service.run returns ready (its probe polls every 0.3 s, for both ways alike) and the new
version answers. Rounds alternate between the two ways; medians and their ratio are printed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "build")]
PYTHON = Path(os.path.realpath("/usr/bin/python3"))


def python_rootfs(dest: Path) -> None:
    """python3, the libraries it links (ldd) and its standard library, under ``dest``."""
    libs = subprocess.run(["ldd", str(PYTHON)], capture_output=True, text=True, check=True).stdout
    files = [PYTHON, *(Path(p) for line in libs.splitlines() for p in line.split() if p.startswith("/"))]
    for f in files:
        (dest / f.relative_to("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(f), dest / f.relative_to("/"))
    stdlib = Path(f"/usr/lib/python{sys.version_info.major}.{sys.version_info.minor}")
    shutil.copytree(stdlib, dest / stdlib.relative_to("/"), symlinks=True,
                    ignore=shutil.ignore_patterns("test", "dist-packages", "site-packages", "idlelib", "tkinter"))


def build_images(engine, tmp: Path) -> dict[str, str]:
    """Images v1 and v2 of the example app in the host's store; {version: oci ref}."""
    ctx_dir = tmp / "image"
    python_rootfs(ctx_dir / "rootfs")
    shutil.copytree(ROOT / "examples" / "app", ctx_dir / "app")
    (ctx_dir / "Containerfile").write_text(
        "# FROM scratch: no base image can be pulled here; python3 copied from this machine.\n"
        f"FROM scratch\nCOPY rootfs /\nCOPY app /app\nENTRYPOINT [\"{PYTHON}\", \"/app/webapp.py\"]\n")
    refs = {}
    for version in ("v1", "v2"):
        (ctx_dir / "app" / "VERSION").write_text(version + "\n")
        engine.run("build", "--tag", f"localhost/benchapp:{version}", str(ctx_dir), timeout=900)
        digest = engine.run("image", "inspect", "--format", "{{.Digest}}", f"localhost/benchapp:{version}").stdout
        refs[version] = f"oci:localhost/benchapp@{digest.strip()}"
    return refs


def stage_all(tmp: Path, refs: dict[str, str]) -> dict[str, dict[str, str]]:
    """Release ids per way and version: process releases are folders, container ones images."""
    from nebhx.bricks.base import Context
    from nebhx_blocks.release.releases import Stage
    staged: dict[str, dict[str, str]] = {"process": {}, "podman": {}}
    for version in ("v1", "v2"):
        folder = tmp / f"app-{version}"
        shutil.copytree(ROOT / "examples" / "app", folder)
        (folder / "VERSION").write_text(version + "\n")
        staged["process"][version] = Stage()(Context(host="local"), host="local", service="proc-app",
                                             source=str(folder)).release
        staged["podman"][version] = Stage()(Context(host="local"), host="local", service="box-app",
                                            source=refs[version]).release
    return staged


def one_switch(way: str, release: str, version: str, port: int, data: Path) -> float:
    import httpx

    from nebhx.bricks.base import Context
    from nebhx_blocks.release.releases import Switch
    from nebhx_blocks.service.launcher import RunService
    service = "proc-app" if way == "process" else "box-app"
    command = (f"{PYTHON} {{release}}/webapp.py --port {{port}} --data {{data}}" if way == "process"
               else "--port {port} --data {data}")
    start = time.perf_counter()
    Switch()(Context(host="local"), host="local", service=service, release=release)
    RunService()(Context(host="local"), host="local", service=service, command=command, port=port,
                 data_path=str(data), runtime=way, ready_http="/health", advertise_host="127.0.0.1")
    elapsed = time.perf_counter() - start
    answer = httpx.get(f"http://127.0.0.1:{port}/", timeout=5).json()["version"]
    if answer != version:
        raise SystemExit(f"{way}: {version} expected after the switch, {answer} answered")
    return elapsed


def raw_start(argv: list[str], env: dict[str, str], port: int) -> tuple[float, float]:
    """Without supervisord or a brick: (start until the app first answers, TERM until it exited),
    polling every 10 ms: what the container itself costs."""
    import httpx
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.perf_counter() - start > 60:
                raise SystemExit(f"{argv[0]} did not answer: exit {proc.poll()}") from None
            time.sleep(0.01)
    up = time.perf_counter() - start
    stop = time.perf_counter()
    proc.terminate()
    proc.wait(timeout=60)
    return up, time.perf_counter() - stop


def raw_rounds(engine, release: Path, ref: str, rounds: int) -> dict[str, list[tuple[float, float]]]:
    from support import free_port
    port = free_port()
    name, digest = ref.removeprefix("oci:").split("@sha256:")
    argv = {"process": [str(PYTHON), str(release / "webapp.py"), "--port", str(port)],
            "podman": engine.run_command(container="nbx-bench-raw", image=engine.resolve(name, digest),
                                         args=f"--port {port}", env_keys=[], volumes=[]).split()}
    env = {**os.environ, **engine.env()}
    found: dict[str, list[tuple[float, float]]] = {way: [] for way in argv}
    for _ in range(rounds):  # alternating, so a load change on the machine hits both ways
        for way in argv:
            found[way].append(raw_start(argv[way], env, port))
    return found


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=6)
    args = ap.parse_args()
    from imagekit import ready_podman, remove_containers
    from support import free_port
    ready_podman()
    with tempfile.TemporaryDirectory(prefix="nebhx-bench-container-") as tmp:
        tmp_path = Path(tmp)
        os.environ["NEBHX_HOME"] = str(tmp_path / "home")
        os.environ.pop("NEBHX_DATABASE_URL", None)
        from nebhx.bricks.registry import import_builtin
        from nebhx.runtime import HostRuntime
        from nebhx.runtime.containers import Engine
        import_builtin()
        runtime = HostRuntime.for_host("local")
        try:
            engine = Engine.for_home(runtime.home)
            refs = build_images(engine, tmp_path)
            staged = stage_all(tmp_path, refs)
            raw = raw_rounds(engine, tmp_path / "app-v1", refs["v1"], args.rounds)
            times: dict[str, list[float]] = {"process": [], "podman": []}
            ports = {"process": free_port(), "podman": free_port()}
            for way in times:  # the first start of each way (supervisord, first container) is not timed
                data = runtime.home / "volumes" / way
                data.mkdir(parents=True, exist_ok=True)
                one_switch(way, staged[way]["v1"], "v1", ports[way], data)
            for i in range(args.rounds):
                version = "v2" if i % 2 == 0 else "v1"
                for way in times:
                    times[way].append(one_switch(way, staged[way][version], version, ports[way],
                                                 runtime.home / "volumes" / way))
        finally:
            if os.environ.get("BENCH_SHOW_LOG"):  # supervisord's own times of each stop and start
                print((runtime.supervisor.root / "supervisord.log").read_text()[-6000:])
            runtime.supervisor.shutdown()
            remove_containers(tmp_path)
    print(f"switch to ready, example app on host local under supervisord, {args.rounds} rounds (seconds)")
    for way, values in times.items():
        print(f"{way:>8}: median {statistics.median(values):.3f}  min {min(values):.3f}  "
              f"max {max(values):.3f}  all {' '.join(f'{v:.3f}' for v in values)}")
    ratio = statistics.median(times["podman"]) / statistics.median(times["process"])
    print(f"podman / process (medians, same run): {ratio:.2f}x")
    print("without supervisord or bricks, start until the first answer / TERM until exited (medians):")
    for way, pairs in raw.items():
        print(f"{way:>8}: start {statistics.median(p[0] for p in pairs):.3f}  "
              f"stop {statistics.median(p[1] for p in pairs):.3f}")
    up = [statistics.median(p[0] for p in raw[w]) for w in ("podman", "process")]
    print(f"podman / process start (medians, same run): {up[0] / up[1]:.2f}x")


if __name__ == "__main__":
    main()
