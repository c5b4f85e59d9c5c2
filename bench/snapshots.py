"""Snapshot and restore time of a 1 GB volume on each volume driver available here, side by side.

    .venv/bin/python bench/snapshots.py [--size-mb 1024] [--rounds 3] [--dir /var/tmp]   (root)

Each driver gets a fresh volume filled with SIZE MB of random data (64 files), then, ROUNDS
times: a snapshot (timed), a change of one file, a restore of that snapshot (timed; it keeps
the replaced data as a pre-restore snapshot, as every restore does), all through
``nebhx.runtime.volumes.Volumes`` as the bricks call it. btrfs and XFS (reflink, driver
package nebhx-xfs) run on loop devices made for the run, overlay on real mounts, dir on the
disk under --dir (no reflink on ext4: a full copy), LVM only where device-mapper exists.
Medians, and each driver's ratio to dir measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from nebhx.runtime.storage import registry
from nebhx.runtime.volumes import Volumes

CHUNK = 16 * 1024 * 1024


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def loop_fs(base: Path, kind: str, size_mb: int) -> tuple[Path, str]:
    img, mnt = base / f"{kind}.img", base / f"{kind}-mnt"
    mnt.mkdir()
    sh("truncate", "-s", f"{size_mb}M", str(img))
    dev = sh("losetup", "-f", "--show", str(img))
    mkfs = ["mkfs.btrfs", "-q"] if kind == "btrfs" else ["mkfs.xfs", "-q", "-m", "reflink=1"]
    sh(*mkfs, dev)
    sh("mount", dev, str(mnt))
    return mnt, dev


def fill(path: Path, size_mb: int) -> None:
    files, block = 64, os.urandom(CHUNK)
    per_file = size_mb * 1024 * 1024 // files
    for i in range(files):
        with open(path / f"part-{i:02d}", "wb") as fh:
            left = per_file
            while left > 0:
                fh.write(block[:min(left, CHUNK)])
                left -= CHUNK
    os.sync()


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    os.sync()  # what a snapshot wrote counts, not only what it queued
    return time.perf_counter() - t


def measure(driver: str, vols: Volumes, options: dict, size_mb: int, rounds: int) -> dict[str, float]:
    vol = vols.create("bench", driver, options=options)
    url = vol.url("bench")
    t = time.perf_counter()
    fill(vol.path, size_mb)
    filled = time.perf_counter() - t
    snaps, restores = [], []
    for i in range(rounds):
        snaps.append(timed(lambda: vols.snapshot(url, f"s{i}")))
        (vol.path / "part-00").write_bytes(b"changed")
        restores.append(timed(lambda: vols.restore(url, f"s{i}")))
        assert (vol.path / "part-00").stat().st_size > 7, "the restore did not bring the data back"
    vols.delete(url, snapshots=True)
    return {"fill": filled, "snapshot": statistics.median(snaps), "restore": statistics.median(restores)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dir", default="/var/tmp", help="where the dir volume and the loop images go")
    args = ap.parse_args()
    if args.size_mb < 1 or args.rounds < 1:
        ap.error("--size-mb and --rounds must be 1 or more")
    base = Path(tempfile.mkdtemp(prefix="nebhx-bench-snap-", dir=args.dir))
    home = base / "home"
    home.mkdir()
    mounts: list[tuple[Path, str]] = []
    results: dict[str, dict[str, float] | str] = {}
    try:
        for driver in registry.names():
            reason = registry.driver_class(driver).available()
            if reason:
                results[driver] = f"not run: {reason}"
                continue
            options, managed = {}, [home]
            if driver in ("btrfs", "xfs"):
                mnt, dev = loop_fs(base, driver, args.size_mb * 3 + 512)
                mounts.append((mnt, dev))
                managed.append(mnt)
                options = {"root": str(mnt)} if driver == "btrfs" else {"pool": str(mnt)}
            elif driver == "lvm":
                results[driver] = "not run: give it a volume group with a thin pool (tests/storage sets one up)"
                continue
            vols = Volumes(home, managed=[p.resolve() for p in managed], host="bench")
            print(f"{driver}: filling {args.size_mb} MB, then {args.rounds} snapshot + restore rounds...", flush=True)
            results[driver] = measure(driver, vols, options, args.size_mb, args.rounds)
    finally:
        for mnt, dev in mounts:
            subprocess.run(["umount", str(mnt)], capture_output=True)
            subprocess.run(["losetup", "-d", dev], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
    report(results, args)


def report(results: dict, args: argparse.Namespace) -> None:
    base = results.get("dir") if isinstance(results.get("dir"), dict) else None
    print(f"\n{args.size_mb} MB volume, median of {args.rounds} rounds (restore keeps a pre-restore snapshot)")
    print(f"{'driver':<9} {'snapshot':>10} {'restore':>10} {'vs dir (snap / restore)':>26}   fill")
    for driver, r in results.items():
        if isinstance(r, str):
            print(f"{driver:<9} {r}")
            continue
        ratio = f"{r['snapshot'] / base['snapshot']:.4f} / {r['restore'] / base['restore']:.4f}" if base else "-"
        print(f"{driver:<9} {r['snapshot']:>9.3f}s {r['restore']:>9.3f}s {ratio:>26}   {r['fill']:.1f}s")


if __name__ == "__main__":
    main()
