from nebhx.bricks.base import Brick, BrickFailed, Cancelled, Context, Ports, WaitFor
from nebhx.bricks.types import Address, HostRef, Secret, Url, VolumeUrl, fits, port_type

__all__ = ["Address", "Brick", "BrickFailed", "Cancelled", "Context", "HostRef", "Ports",
           "Secret", "Url", "VolumeUrl", "WaitFor", "fits", "port_type"]
