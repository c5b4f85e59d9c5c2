"""The inputs every brick that stages a release takes, declared once: ``release.stage`` and
``rollout.prepare`` both stage through ``Releases.stage``, so they name the release and its
source the same way, with the same checks (a brick here subclasses ``ReleaseSource``)."""
from __future__ import annotations

import re

from pydantic import Field

from nebhx import HostRef, Ports
from nebhx.bricks.planning import Requires

# A download is only staged once checked, so an http(s) source needs its sha256.
SHA256_FOR_URLS = Requires(("sha256",), {"source": re.compile(r"^https?://")},
                           "a download is checked against its sha256 before anything is staged")


class ReleaseSource(Ports):
    """Which release of which service to stage on which host, and where it comes from."""
    host: HostRef = Field(description="The host to stage on")
    service: str = Field(description="Service name, e.g. 'billing'", min_length=1)
    source: str = Field(description="Path, http(s) URL, pip:SPEC, artifact:… or oci:NAME@sha256:…", min_length=1)
    sha256: str | None = Field(default=None,
                               description="Expected sha256 of the file (required for URLs)")
    release_id: str | None = Field(default=None,
                                   description="Release id; default: sha256 prefix of the source")
