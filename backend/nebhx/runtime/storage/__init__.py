"""Volume drivers: the interface (``VolumeDriver``), the built-in drivers and their registry.

What a driver author needs is importable from here::

    from nebhx.runtime.storage import VolumeDriver, TreeDriver, Volume, Snapshot, Usage, Retention

The guide for vendors is ``docs/storage-drivers.md``; the built-in drivers (``dirs``,
``btrfs``, ``overlay``, ``lvm``) and ``drivers/nebhx-xfs`` are worked examples.
"""
from nebhx.runtime.storage.driver import DriverHost, Retention, Snapshot, Usage, Volume, VolumeDriver
from nebhx.runtime.storage.tree import TreeDriver

__all__ = ["DriverHost", "Retention", "Snapshot", "TreeDriver", "Usage", "Volume", "VolumeDriver"]
