"""Settings from the environment (prefix NEBHX_), with embedded defaults."""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_DIR = PACKAGE_DIR.parents[1]


def _config_home() -> Path:
    # XDG: an unset, empty or relative XDG_CONFIG_HOME means ~/.config.
    xdg = os.environ.get("XDG_CONFIG_HOME", "")
    return Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".config"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEBHX_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".nebhx")
    database_url: str | None = None
    broker_url: str | None = None
    url: str = "http://127.0.0.1:8750"
    host: str = "127.0.0.1"
    port: int = 8750
    blocks_path: str = ""
    # Folders (colon-separated) bricks may write in on a host besides its home, e.g. the
    # mount point of a btrfs filesystem for btrfs volumes.
    host_managed_paths: str = ""
    # Folders (colon-separated) besides the managed ones whose files a plan may hash to tell a
    # path source's release id (a plan reads nothing else on a host).
    host_source_paths: str = ""
    # The systemd launcher: where it writes units, and the systemctl it drives (a command
    # line: "systemctl", or e.g. "nsenter -t PID -a systemctl" for a systemd in a container).
    systemd_unit_dir: Path = Path("/etc/systemd/system")
    systemctl: str = "systemctl"
    # A plan ends within plan_timeout_s; each host's agent has plan_host_timeout_s to answer.
    plan_timeout_s: float = 20.0
    plan_host_timeout_s: float = 5.0
    builtin_blocks: Path = REPO_DIR / "blocks"
    # Config profiles in etcd (nebhx.runtime.etcd): the endpoint config.profiles reads with
    # store "etcd" and etcd triggers watch, and the key prefix of the profiles.
    config_etcd_url: str = ""
    config_etcd_prefix: str = "/nebhx/profiles/"
    secret_key: str | None = None
    # An agent on a managed host (``nebhx agent --server URL --token T``) reaches the store
    # only through the execution API at ``url`` with this host-scoped token.
    agent_token: str | None = None
    # What the execution API tells agents to use as broker (default: broker_url).
    agent_broker_url: str | None = None
    # Kept apart from the store: a copy of the database alone does not open its secrets.
    secret_key_file: Path = Field(default_factory=lambda: _config_home() / "nebhx" / "secret.key")
    # A running node renews its lease this often; the sweep re-dispatches a node whose
    # lease is older than lease_s (its worker died).
    heartbeat_s: float = 2.0
    lease_s: float = 15.0
    # Worker and agent processes beat this often; one silent for worker_down_s is dead and
    # the nodes it claimed are dispatched again at once (not a lease later).
    worker_beat_s: float = 1.0
    worker_down_s: float = 3.0
    sweep_interval_s: float = 1.0
    broker_poll_s: float = 0.01
    retry_base_s: float = 1.0
    # A host whose agent has not beaten for host_down_s is down; a node queued for a down
    # host fails after its timeout_s, or host_wait_s when it has none.
    host_down_s: float = 30.0
    host_wait_s: float = 60.0
    # A queued node no worker took for queue_timeout_s (or its own timeout_s) fails with
    # "no worker for queue X": a run never stays running with nobody working on it.
    queue_timeout_s: float = 600.0
    agent_heartbeat_s: float = 5.0
    services_check_s: float = 10.0
    max_body_bytes: int = 16 * 1024 * 1024
    log_level: str = "WARNING"
    pg_synchronous_commit: Literal["on", "off", "local", "remote_write", "remote_apply"] = "off"
    worker_concurrency: int = 4
    worker_pool: Literal["prefork", "threads", "solo"] = "prefork"
    static_dir: Path = REPO_DIR / "frontend" / "dist"
    # "auto": open (every caller is the local admin) while no user exists and the API is bound
    # to loopback; "required": always ask for a credential.
    auth: Literal["auto", "required"] = "auto"
    # More names the API answers to (Host and Origin headers), comma-separated; anything
    # else is refused so a DNS-rebinding page cannot drive a local server.
    allowed_hosts: str = ""
    # Addresses (or CIDR networks, comma-separated) of reverse proxies whose X-Forwarded-For and
    # X-Forwarded-Proto are believed; none by default, so no caller can fake its audited address.
    trusted_proxies: str = ""
    session_ttl_s: float = 12 * 3600
    # Event streams (GET /api/runs/{id}/events) one API process holds open: each polls the store.
    max_streams: int = 200
    max_streams_per_user: int = 20
    # Label keys only an admin sets (besides `name`, always the host's own); an agent's are ignored.
    reserved_labels: str = ""
    # "required": an agent's labels reach selectors only once an admin approved them.
    label_approval: Literal["off", "required"] = "off"
    # host:port of the development mail sink `nebhx up` runs, or "off"; e-mail bricks send
    # there unless given a server of their own.
    mail_sink: str = "127.0.0.1:2525"
    # Housekeeping (nebhx.engine.retention): per graph, the last retain_runs runs or those of the
    # last retain_days days are kept (a graph's own retention overrides); None: no limit of that kind.
    retain_runs: int | None = Field(default=200, ge=1)
    retain_days: float | None = Field(default=None, gt=0)
    gc_interval_s: float = 3600.0

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'nebhx.db'}"

    @property
    def embedded_broker(self) -> bool:
        return not self.broker_url or self.broker_url.startswith("filesystem")

    def mail_sink_address(self) -> tuple[str, int] | None:
        """Where the mail sink listens, None when it is off; ValueError unless host:port."""
        return parse_mail_sink(self.mail_sink)

    def block_dirs(self) -> list[Path]:
        extra = [Path(p) for p in self.blocks_path.split(os.pathsep) if p.strip()]
        return [self.builtin_blocks, *extra]


MAIL_SINK_OFF = {"", "0", "off", "false", "no"}


def parse_mail_sink(value: str) -> tuple[str, int] | None:
    """``host:port`` (host defaults to 127.0.0.1) or one of MAIL_SINK_OFF (None)."""
    if value.strip().lower() in MAIL_SINK_OFF:
        return None
    host, _, port = value.strip().rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"NEBHX_MAIL_SINK must be host:port or off, not {value!r}")
    return (host.strip("[]") or "127.0.0.1"), int(port)


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    return settings


def reset_settings() -> None:
    """Forget cached settings (tests and CLI change the environment)."""
    get_settings.cache_clear()
