"""Nebh-X: a visual workflow engine for deployment graphs."""
from nebhx.bricks import (Address, Brick, BrickFailed, Cancelled, Context, HostRef, Ports,
                          Secret, Url, VolumeUrl, WaitFor)
from nebhx.version import __version__

__all__ = ["Address", "Brick", "BrickFailed", "Cancelled", "Context", "HostRef", "Ports",
           "Secret", "Url", "VolumeUrl", "WaitFor", "__version__"]
