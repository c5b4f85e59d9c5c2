import pytest

from imagekit import ready_podman


@pytest.fixture(scope="session")
def podman_ready() -> None:
    """podman, runc and a static busybox are there (checked once; never installed by a test)."""
    ready_podman()
