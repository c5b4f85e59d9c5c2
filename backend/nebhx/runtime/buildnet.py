"""A build's network: its own network namespace, outbound through slirp4netns.

A build that declares it needs the network (package registries) gets it, but not this
machine's loopback services (the control plane's API, Redis, PostgreSQL on 127.0.0.1): the
sandbox keeps bwrap's own network namespace, whose 127.0.0.1 is its own, and slirp4netns
(user-mode NAT, started on the sandbox before it runs anything: bwrap's --block-fd) carries
its outbound connections with ``--disable-host-loopback``, so 10.0.2.2 does not lead to the
host's 127.0.0.1 either. Before the build starts, its namespace gets a `prohibit` route to each
of this machine's own addresses (what the control plane listens on beyond loopback: the API on
0.0.0.0, a cluster's bridge) and to link-local 169.254.0.0/16 (a cloud's metadata service and
its credentials). The build runs without CAP_NET_ADMIN, so it cannot take them away. Other
machines on the network stay reachable: that is where registries are.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from nebhx.bricks.base import BrickFailed

SLIRP_DNS = "10.0.2.3"


def resolv_conf(folder: Path) -> Path | None:
    """A resolv.conf naming slirp's DNS when the machine's resolver is on its loopback
    (systemd-resolved's 127.0.0.53 is not reachable from the sandbox); None otherwise."""
    try:
        servers = [line.split()[1] for line in Path("/etc/resolv.conf").read_text().splitlines()
                   if line.startswith("nameserver") and len(line.split()) > 1]
    except OSError:
        servers = []
    if servers and not any(s.startswith("127.") or s == "::1" for s in servers):
        return None
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "resolv.conf"
    path.write_text(f"nameserver {SLIRP_DNS}\n")
    return path


def popen(argv: list[str], *, network: bool, **kwargs) -> tuple[subprocess.Popen, Callable[[], None]]:
    """Start bwrap's ``argv`` (which unshares the network); with ``network``, slirp4netns
    first gives its namespace a way out. The process, and what stops slirp4netns after."""
    if not network:
        return subprocess.Popen(argv, **kwargs), lambda: None
    slirp = shutil.which("slirp4netns")
    if slirp is None:
        raise BrickFailed("a build with network reaches it through slirp4netns, which is not installed on "
                          "the control plane's worker: apt-get install -y slirp4netns")
    info_r, info_w = os.pipe()
    block_r, block_w = os.pipe()
    argv = [argv[0], "--info-fd", str(info_w), "--block-fd", str(block_r), *argv[1:]]
    try:
        proc = subprocess.Popen(argv, pass_fds=(info_w, block_r), **kwargs)
    finally:
        os.close(info_w)
        os.close(block_r)
    try:
        pid = _child_pid(info_r)
        _loopback_up(pid)
        stop = _slirp(slirp, pid)
        try:
            _fence(pid)
        except BaseException:
            stop()
            raise
    except BrickFailed:
        if _exited(proc):  # the sandbox failed to start: its own words are in the build's log
            return proc, lambda: None
        os.killpg(proc.pid, 9) if kwargs.get("start_new_session") else proc.kill()
        proc.wait()
        raise
    except BaseException:
        os.killpg(proc.pid, 9) if kwargs.get("start_new_session") else proc.kill()
        proc.wait()
        raise
    finally:
        os.close(info_r)
    os.write(block_w, b"1")  # the sandbox may run now: its network is up
    os.close(block_w)
    return proc, stop


def _child_pid(info_r: int) -> int:
    """The sandbox's PID as bwrap's --info-fd tells it."""
    data = b""
    while b"}" not in data:
        chunk = os.read(info_r, 4096)
        if not chunk:
            raise BrickFailed("the build sandbox did not start (bubblewrap said nothing of it)")
        data += chunk
    return int(json.loads(data[:data.index(b"}") + 1])["child-pid"])


def own_addresses() -> list[str]:
    """This machine's IPv4 addresses beyond loopback, as ``ip`` lists them."""
    out = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, check=True).stdout
    return sorted({a["local"] for link in json.loads(out) for a in link.get("addr_info", [])
                   if a.get("local") and not a["local"].startswith("127.")})


def _enter(pid: int) -> list[str]:
    enter = ["nsenter", f"--net=/proc/{pid}/ns/net"]
    if os.geteuid() != 0:  # the namespace belongs to bwrap's user namespace: act as its owner
        enter += [f"--user=/proc/{pid}/ns/user", "--preserve-credentials"]
    return enter


def _loopback_up(pid: int) -> None:
    """Wait until bwrap has brought up its namespace's loopback: its netlink requests fail
    ("loopback: Failed RTM_NEWADDR") when slirp's or ours reach the namespace at the same time."""
    wait = "for i in $(seq 500); do ip -o link show lo | grep -q '[<,]UP[,>]' && exit 0; sleep 0.01; done; exit 1"
    done = subprocess.run([*_enter(pid), "sh", "-c", wait], capture_output=True, text=True)
    if done.returncode != 0:
        raise BrickFailed("the build sandbox's network did not come up (its loopback stayed down): "
                          + done.stderr.strip()[-300:])


def _fence(pid: int) -> None:
    """No way from ``pid``'s network namespace to this machine's own addresses or to link-local."""
    targets = [*(f"{a}/32" for a in own_addresses()), "169.254.0.0/16"]
    done = subprocess.run([*_enter(pid), "ip", "-batch", "-"], input="".join(
        f"route add prohibit {t}\n" for t in targets), capture_output=True, text=True)
    if done.returncode != 0:
        raise BrickFailed(f"could not keep the build away from this machine's addresses {targets}: "
                          f"{done.stderr.strip()[-300:]}")


def _exited(proc: subprocess.Popen) -> bool:
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:
        return False
    return True


def _slirp(slirp: str, pid: int) -> Callable[[], None]:
    """slirp4netns on ``pid``'s network namespace, up; what stops it."""
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    args = [slirp, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd", str(ready_w),
            "--exit-fd", str(exit_r)]
    if os.geteuid() != 0:  # bwrap made a user namespace too: the network's owner
        args.append(f"--userns-path=/proc/{pid}/ns/user")
    try:
        proc = subprocess.Popen([*args, str(pid), "tap0"], pass_fds=(ready_w, exit_r), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    finally:
        os.close(ready_w)
        os.close(exit_r)

    def stop() -> None:
        os.close(exit_w)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    deadline = time.monotonic() + 10
    ready = b""
    while not ready and proc.poll() is None and time.monotonic() < deadline:
        ready = os.read(ready_r, 1)
    os.close(ready_r)
    if not ready:
        stop()
        raise BrickFailed("the build's network did not come up: slirp4netns: "
                          + (proc.stderr.read().decode(errors="replace").strip()[-500:] if proc.stderr else ""))
    return stop
