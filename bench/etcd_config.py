"""An etcd change to the affected service restarted and answering with it (target under 2 s).

    .venv/bin/python bench/etcd_config.py [--rounds 5]

A private etcd and an embedded Nebh-X (API with the sweep, one worker as host `local`) on free
ports; the graph of tests/configs/etcd_support.py (profiles from etcd, two services conf-a and
conf-b each prepared and switched) stored with an etcd trigger and applied once. Then, ROUNDS
times, a new greeting for conf-a is written to etcd and timed until conf-a answers with it,
and until the triggered run has finished; conf-b must keep its process. Also split: etcd put to
run created (the watch), run created to conf-a answering (the graph: read etcd, prepare, switch
with a restart and readiness).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "configs"))
from etcd_support import EtcdServer, etcd_graph, greeting, profiles  # noqa: E402
from support import Stack, free_port, make_env, wait_for  # noqa: E402


def latest_run(stack: Stack) -> dict | None:
    with stack.client() as c:
        runs = [r for r in c.get("/runs").json() if r["graph_name"] == "conf-etcd"]
    return runs[0] if runs else None


def one_round(stack: Stack, etcd: EtcdServer, port_a: int, text: str, before: str | None) -> dict:
    t0 = time.time()
    etcd.put("conf-a", profiles(greeting_a=text)["conf-a"])
    wait_for(lambda: greeting(port_a) == text, 30, 0.005, what=f"conf-a answers {text!r}")
    answered = time.time() - t0
    run = wait_for(lambda: (r := latest_run(stack)) and r["id"] != before and r, 30, 0.05, what="the run")
    run = stack.wait_run(run["id"], 60)
    created = datetime.fromisoformat(run["created_at"]).timestamp() - t0
    finished = datetime.fromisoformat(run["finished_at"]).timestamp() - t0
    b = run["nodes"]["switch_b"]["outputs"]
    assert run["status"] == "succeeded" and run["nodes"]["switch_a"]["outputs"]["restarted"], run
    assert not b["changed"], "conf-b was touched"
    return {"answered": answered, "created": created, "finished": finished, "run": run["id"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="nebhx-bench-etcd-"))
    etcd = EtcdServer(work)
    stack = Stack(work / "home", make_env(work / "home"))
    (work / "home").mkdir()
    try:
        stack.start()
        ports = {"a": free_port(), "b": free_port()}
        for name, doc in profiles().items():
            etcd.put(name, doc)
        with stack.client() as c:
            assert c.post("/graphs", json=etcd_graph(etcd.url, ports, trigger="bench-etcd")).status_code == 201
        time.sleep(3)  # the sweep (every 1 s) starts the watch; this bench times changes, not that
        etcd.put("conf-b", profiles()["conf-b"])
        wait_for(lambda: greeting(ports["b"]) == "hello b", 90, 0.1, what="first apply")
        wait_for(lambda: (r := latest_run(stack)) and r["finished_at"], 60, 0.1, what="first run finished")
        rows, before = [], latest_run(stack)["id"]
        for i in range(args.rounds):
            row = one_round(stack, etcd, ports["a"], f"round {i}", before)
            before = row["run"]
            rows.append(row)
            print(f"round {i}: conf-a answering {row['answered'] * 1000:.0f} ms after the put "
                  f"(run created at {row['created'] * 1000:.0f} ms, finished at {row['finished'] * 1000:.0f} ms); "
                  "conf-b untouched")
        for key, what in (("answered", "etcd put -> conf-a restarted and answering"),
                          ("created", "etcd put -> run created (watch)"),
                          ("finished", "etcd put -> run finished")):
            values = [r[key] * 1000 for r in rows]
            print(f"{what}: median {statistics.median(values):.0f} ms, max {max(values):.0f} ms "
                  f"over {len(values)} changes" + (" (target < 2000 ms)" if key == "answered" else ""))
    finally:
        stack.stop()
        etcd.stop()


if __name__ == "__main__":
    main()
