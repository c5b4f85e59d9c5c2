"""Fixtures of the cluster suite: three hosts as network namespaces, a full Nebh-X stack
over them, and an SMTP server for the admin's e-mail. Never skipped: when namespaces
cannot be made here, the suite fails and says why."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).parent))
from netns import Cluster  # noqa: E402
from support import Inbox  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("cluster"))
    try:
        c.up()
    except BaseException:
        problems = c.down()
        raise AssertionError(f"the cluster did not come up (logs in {c.workdir}); "
                             f"teardown problems: {problems}") from sys.exc_info()[1]
    yield c
    problems = c.down()
    assert not problems, problems


@pytest.fixture(scope="module")
def smtp(cluster):
    """A real SMTP server on the bridge address: the control worker sends to it."""
    inbox = Inbox()
    ctl = Controller(inbox, hostname=cluster.gateway, port=cluster.free_port())
    ctl.start()
    inbox.port = ctl.port
    yield inbox
    ctl.stop()
