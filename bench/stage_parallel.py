"""Staging a 50 MB release on three hosts: in parallel, against one after another.

    .venv/bin/python bench/stage_parallel.py [--mb 50] [--repeat 3]   # needs root

Three hosts are network namespaces with their own agents (tests/cluster/netns.py). The
release is a tarball of random data (incompressible, so extraction and hashing do real
work). One graph has three `release.stage` nodes, on h1, h2 and h3: with no edges they
run at the same time; with control edges h1 -> h2 -> h3 one after another. Every trial
stages under a new release id, so each node copies, hashes and extracts the whole
tarball (from the page cache: the bench does not drop caches). A warm-up run goes
first. Prints the wall time of each run (POST /runs to finished) and the medians.
All three hosts share this machine's disk and CPUs, which bounds the speed-up.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "cluster")]
from netns import Cluster  # noqa: E402


def make_tarball(folder: Path, mb: int) -> Path:
    data = folder / "payload"
    data.mkdir()
    with open(data / "blob.bin", "wb") as f:
        for _ in range(mb):
            f.write(os.urandom(1024 * 1024))
    (data / "VERSION").write_text("bench\n")
    tarball = folder / "release.tar"
    with tarfile.open(tarball, "w") as tar:
        tar.add(data, arcname=".")
    shutil.rmtree(data)
    return tarball


def graph(hosts: tuple[str, ...], source: str, release: str, serial: bool) -> dict:
    nodes = [{"id": f"stage_{h}", "brick": "release.stage", "position": {"x": 300 * i, "y": 0},
              "params": {"host": h, "service": "bigapp", "source": source, "release_id": release,
                         "keep": 2}} for i, h in enumerate(hosts)]
    edges = [{"from": {"node": f"stage_{a}"}, "to": {"node": f"stage_{b}"}}
             for a, b in zip(hosts, hosts[1:])] if serial else []
    return {"format": "nebhx/graph@1", "name": f"stage-{'serial' if serial else 'parallel'}",
            "nodes": nodes, "edges": edges}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-bench-stage-"))
    tarball = make_tarball(work, args.mb)
    print(f"release: {tarball} ({tarball.stat().st_size / 1e6:.1f} MB of random data)", flush=True)
    cluster = Cluster(work / "cluster")
    times: dict[str, list[float]] = {"parallel": [], "serial": []}
    try:
        cluster.up()
        # Warm-up, not timed: every agent's worker processes load the palette and open the
        # store on their first task. Enough nodes per host to reach each of its processes.
        warm = graph(cluster.hosts, str(tarball), "warmup", False)
        warm["nodes"] = [dict(n, id=f"{n['id']}_{i}") for n in warm["nodes"] for i in range(4)]
        cluster.run(warm, timeout=600)
        trial = 0
        for _ in range(args.repeat):
            for mode in ("parallel", "serial"):
                trial += 1
                doc = graph(cluster.hosts, str(tarball), f"r{trial}", mode == "serial")
                t0 = time.monotonic()
                run = cluster.run(doc, timeout=600)
                took = time.monotonic() - t0
                if run["status"] != "succeeded":
                    raise SystemExit(f"{mode} run failed: "
                                     f"{ {k: n['error'] for k, n in run['nodes'].items()} }")
                nodes = sorted(run["nodes"].values(), key=lambda n: n["started_at"])
                each = ", ".join(f"{n['duration_s']:.2f}s" for n in nodes)
                print(f"{mode:8}: {took:6.2f}s (nodes: {each})", flush=True)
                times[mode].append(took)
    finally:
        problems = cluster.down()
        if problems:
            print("teardown problems:", problems, file=sys.stderr)
        shutil.rmtree(work, ignore_errors=True)
    par, ser = statistics.median(times["parallel"]), statistics.median(times["serial"])
    print(f"\nmedian of {args.repeat}: 3 hosts in parallel {par:.2f}s, one after another {ser:.2f}s, "
          f"speed-up {ser / par:.2f}x ({os.cpu_count()} CPUs, one disk)")


if __name__ == "__main__":
    main()
