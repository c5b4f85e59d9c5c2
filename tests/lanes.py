"""The test suite in lanes, run side by side: `./dev test` calls this (see the README).

    python tests/lanes.py [--unit | --lane NAME ...] [pytest args]

A lane is one pytest process over a part of the suite (or one static check); lanes do not
share fixed ports, namespaces or daemons, so they can run at once: every stack, Redis and
PostgreSQL database a test starts is private (free ports, unique names). The tests that run
the shipped examples (fixed ports 8100-8111) share the `e2e` lane. Which lane a test is in:
``lane_of`` below, applied as a marker by tests/conftest.py; tests/test_layout.py checks that
every test file is collected. Each lane's output is printed whole when it ends (no
interleaving), then its wall time, and at the end a summary; any failing lane fails the run.

Arguments that are not options (paths, node ids) run those tests in one pytest process, as a
plain `pytest ARGS` would.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTEST = [sys.executable, "-m", "pytest"]
# Folders and modules that are a lane of their own (run by path); the rest of the suite
# splits by marker into `stack` (the session's API + worker stacks), `procs` (modules that
# start processes of their own) and `unit`.
OWN_LANES = {
    "cluster": "cluster", "e2e": "e2e", "examples": "e2e", "build": "build",
    # real daemons, loop devices, sandboxes and fuzzing: seconds each, kept out of the fast lane
    "runtime": "host", "blocks": "host", "storage": "host", "api/test_fuzz.py": "host",
    "api/test_graph_fuzz.py": "host", "attacks/test_proc_broker.py": "host",
    "attacks/test_proc_build.py": "host", "attacks/test_proc_service.py": "host",
    "network/test_overlay.py": "host", "network/test_shares.py": "host", "configs/test_ansible.py": "host",
    "configs/test_cloudinit.py": "host",
    "attacks/test_proc_image.py": "build",
}
ELSEWHERE = [f"--ignore=tests/{path}" for path in OWN_LANES]
PYTEST_LANES = {
    "unit": ["tests", *ELSEWHERE, "-m", "lane_unit"],
    "stack": ["tests", *ELSEWHERE, "-m", "lane_stack"],
    "procs": ["tests", *ELSEWHERE, "-m", "lane_procs"],
    **{lane: [f"tests/{p}" for p, name in OWN_LANES.items() if name == lane] for lane in OWN_LANES.values()},
}
# Started first: the longest lanes, so the run ends with the short ones. The stack tests are
# two lanes (the session's stacks; modules with processes of their own): one lane of both was
# the run's critical path (19 of 21 minutes).
ORDER = ["host", "procs", "stack", "lint", "build", "e2e", "cluster", "unit", "vitest"]
# The `procs` lane: modules that start API + worker processes of their own (Stack(...)), or a
# `nebhx` server, beside or instead of the session's `stack` fixture.
STACK_MODULES = {
    "attacks/test_plan_executes_nothing.py", "auth/test_stack.py", "cli/test_cli.py",
    "engine/test_palette_on_demand.py", "engine/test_worker_loss.py", "execution/test_agents.py",
    "execution/test_brick_packages.py",
    "faults/test_faults.py", "hosts/test_hosts.py", "hosts/test_services_view.py",
    "hosts/test_service_ops.py", "cli/test_daytwo_cli.py", "api/test_metrics.py", "engine/test_retention.py",
    # a real `nebhx api` process: what a test client cannot show (held streams, forwarded headers)
    "attacks/test_streams.py", "attacks/test_forwarded.py",
}


def lane_of(path: Path, fixturenames: list[str]) -> str:
    """The lane of a test: its folder's or module's own lane, else `procs` or `stack` if it
    starts processes."""
    rel = path.resolve().relative_to(ROOT / "tests").as_posix()
    for own, lane in OWN_LANES.items():
        if rel == own or rel.startswith(own + "/"):
            return lane
    if rel in STACK_MODULES:
        return "procs"
    return "stack" if "stack" in fixturenames else "unit"


@dataclass
class Result:
    name: str
    code: int
    seconds: float
    summary: str


def commands(lanes: list[str], extra: list[str]) -> dict[str, list[str]]:
    out = {}
    for lane in lanes:
        if lane == "lint":
            out[lane] = [str(ROOT / "dev"), "lint"]
        elif lane == "vitest":
            out[lane] = ["npm", "--prefix", str(ROOT / "frontend"), "test", "--silent"]
        else:
            out[lane] = [*PYTEST, *PYTEST_LANES[lane], "--durations=25", *spread(lane, lanes), *extra]
    return out


def spread(lane: str, lanes: list[str]) -> list[str]:
    """`./dev test --unit` alone: the fast lane over every core (pytest-xdist), for the
    edit-test loop. Beside other lanes it stays one process: the lanes already fill the cores."""
    if lane != "unit" or lanes != ["unit"] or (os.cpu_count() or 1) < 2:
        return []
    return ["-n", str(min(os.cpu_count() or 1, 4))]


def run_lane(name: str, cmd: list[str], logdir: Path) -> Result:
    log = logdir / f"{name}.log"
    start = time.monotonic()
    with log.open("wb") as fh:
        code = subprocess.call(cmd, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - start
    text = log.read_text(errors="replace")
    # pytest exits 5 when a lane selects no test (e.g. a -k that matches none there): not a failure.
    if code == 5 and name in PYTEST_LANES:
        code = 0
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in text.splitlines() if line.strip()]
    summary = lines[-1].strip("= ") if lines else "(no output)"
    sys.stdout.write(f"\n{'=' * 30} lane {name}: exit {code}, {seconds:.0f} s {'=' * 30}\n{text}")
    sys.stdout.flush()
    return Result(name, code, seconds, summary)


def parse(argv: list[str]) -> tuple[list[str], list[str], bool]:
    """(lanes, pytest args, whether the args name tests themselves)."""
    lanes: list[str] = []
    extra: list[str] = []
    it = iter(argv)
    for arg in it:
        if arg == "--unit":
            lanes.append("unit")
        elif arg == "--lane":
            lanes.append(next(it, ""))
        elif arg.startswith("--lane="):
            lanes.append(arg.split("=", 1)[1])
        else:
            extra.append(arg)
    unknown = [lane for lane in lanes if lane not in ORDER]
    if unknown:
        sys.exit(f"unknown lane(s) {unknown}: choose from {ORDER}")
    named = any(not a.startswith("-") and (ROOT / a.split("::")[0]).exists() for a in extra)
    return lanes or ORDER, extra, named


def main(argv: list[str]) -> int:
    lanes, extra, named = parse(argv)
    if named:  # `./dev test tests/x.py -k y`: exactly what was asked, one process
        return subprocess.call([*PYTEST, "--durations=25", *extra], cwd=ROOT)
    logdir = Path(tempfile.mkdtemp(prefix="nebhx-lanes-"))
    cmds = commands([lane for lane in ORDER if lane in lanes], extra)
    # Twice the cores at once: all eight on two cores left timing-bound tests (probes, gates,
    # plan deadlines) failing for want of CPU, while fewer lanes ended later in total.
    jobs = int(os.environ.get("NEBHX_TEST_LANES", 2 * (os.cpu_count() or 1)))
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(lambda item: run_lane(*item, logdir), cmds.items()))
    total = time.monotonic() - start
    print(f"\n{'=' * 30} lanes (logs in {logdir}) {'=' * 30}")
    for r in results:
        print(f"  {r.name:<8} {'ok  ' if r.code == 0 else 'FAIL'} {r.seconds:6.0f} s  {r.summary}")
    failed = [r.name for r in results if r.code != 0]
    print(f"  total    {total:.0f} s wall" + (f"; FAILED lanes: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
