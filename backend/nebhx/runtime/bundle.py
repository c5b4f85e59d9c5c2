"""A Python bundle's manifest (``nebhx-bundle.json``, written by build.python): what the host
that stages the bundle installs into the release's virtualenv."""
from __future__ import annotations

import json
import re
from pathlib import Path

from nebhx.bricks.errors import BrickFailed

BUNDLE_META = "nebhx-bundle.json"
BUNDLE_FORMAT = "nebhx/python-bundle@1"
_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*==[A-Za-z0-9][A-Za-z0-9._+!-]*")


def bundle_requirement(release: Path) -> str | None:
    """The requirement a staged bundle installs, or None when ``release`` holds no bundle."""
    try:
        manifest = json.loads((release / BUNDLE_META).read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("format") != BUNDLE_FORMAT or not manifest.get("requirement"):
        return None
    requirement = str(manifest["requirement"])
    # It reaches pip's command line on the host: a checkout of anyone's repository can hold
    # this file, and "-e git+https://..." or "-r FILE" there would be read as pip's options.
    if not _REQUIREMENT.fullmatch(requirement):
        raise BrickFailed(f"{BUNDLE_META}: requirement {requirement[:100]!r} is not NAME==VERSION "
                          "as build.python writes it; nothing staged")
    return requirement
