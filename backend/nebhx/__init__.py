"""Nebh-X: a visual workflow engine for deployment graphs."""
from nebhx.bricks import (Address, Brick, BrickFailed, Cancelled, Context, HostRef, Ports,
                          Secret, Url, VolumeUrl, WaitFor)

__version__ = "0.1.0"
__all__ = ["Address", "Brick", "BrickFailed", "Cancelled", "Context", "HostRef", "Ports",
           "Secret", "Url", "VolumeUrl", "WaitFor", "__version__"]
