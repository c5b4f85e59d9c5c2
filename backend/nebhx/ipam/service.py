"""Address pools (IPAM): declare a CIDR, hand out one address per owner, release it.

No address is ever handed out twice: the allocations table's primary key is (pool, offset),
so a second insert of an address fails in the database itself, whichever worker or process
tried. Allocations of one pool are also serialised up front (SQLite's BEGIN IMMEDIATE, a
``FOR UPDATE`` lock of the pool's row on PostgreSQL) so concurrent runs rarely collide; a
collision that still happens is retried with the next free address.
"""
from __future__ import annotations

import ipaddress
import re

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nebhx.errors import Conflict, NotFound
from nebhx.ipam.schemas import AllocationRead, PoolDeleted, PoolDetail, PoolRead, Released
from nebhx.store.db import session_scope
from nebhx.store.models import IpAllocationRow, IpPoolRow

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
MAX_HOST_BITS = 32  # offsets are kept in a BIGINT; an IPv6 pool is at least a /96
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class PoolError(Conflict, ValueError):
    """A pool request that cannot be done; the message names the pool and the reason (409)."""


class PoolExhausted(PoolError):
    pass


class PoolMissing(NotFound, PoolError):
    """No such pool (404: NotFound comes first in its MRO, where the API looks up its answer)."""


class PoolBusy(PoolError):
    """The pool still holds allocations (deleting it needs ``force``)."""


def check_name(name: str) -> str:
    if not NAME_RE.match(name or ""):
        raise PoolError(f"pool name {name!r}: letters, digits, '.', '_', '-' (at most 100)")
    return name


def parse_cidr(cidr: str) -> Network:
    """The network of ``cidr``; PoolError saying what is wrong otherwise."""
    try:
        net = ipaddress.ip_network(cidr, strict=False)
    except ValueError as exc:
        raise PoolError(f"cidr {cidr!r} is not a network (e.g. 10.250.0.0/24): {exc}") from None
    if str(net) != cidr.strip():
        raise PoolError(f"cidr {cidr!r} has host bits set: the network is {net}")
    if net.max_prefixlen - net.prefixlen > MAX_HOST_BITS:
        raise PoolError(f"cidr {cidr}: a pool holds at most 2^{MAX_HOST_BITS} addresses "
                        f"(IPv6: a /{net.max_prefixlen - MAX_HOST_BITS} or smaller)")
    return net


def usable(net: Network) -> tuple[int, int]:
    """First and last offset a pool may hand out: not the network or broadcast address
    (except in /31 and /32, and IPv6 has no broadcast)."""
    last = net.num_addresses - 1
    if net.version == 4 and net.prefixlen < 31:
        return 1, last - 1
    if net.version == 6 and net.prefixlen < 127:
        return 1, last
    return 0, last


def _reserved_offsets(net: Network, reserved: list[str]) -> set[int]:
    offsets = set()
    for addr in reserved:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            raise PoolError(f"reserved address {addr!r} is not an IP address") from None
        if ip not in net:
            raise PoolError(f"reserved address {addr} is not in {net}")
        offsets.add(int(ip) - int(net.network_address))
    return offsets


def declare_pool(s: Session, name: str, cidr: str, reserved: list[str] | None = None,
                 description: str = "") -> tuple[PoolRead, bool]:
    """Create the pool or find it unchanged; (its view, whether anything changed).

    A pool's CIDR cannot change under its allocations: that fails naming them."""
    net = parse_cidr(cidr)
    _reserved_offsets(net, reserved or [])  # each one checked before anything is written
    reserved = sorted({str(ipaddress.ip_address(a)) for a in reserved or []},
                      key=lambda a: int(ipaddress.ip_address(a)))
    row = s.get(IpPoolRow, check_name(name))
    if row is None:
        s.add(IpPoolRow(name=name, cidr=str(net), reserved=reserved, description=description))
        s.flush()
        return pool_view(s, name=name), True
    changed = (row.cidr, row.reserved, row.description) != (str(net), reserved, description)
    if changed:
        held = _held_outside(s, row.name, net, reserved)
        if held:
            raise PoolError(f"pool {name!r} ({row.cidr}) cannot become {net} reserving {reserved}: "
                            f"{', '.join(held[:5])} {'are' if len(held) > 1 else 'is'} allocated")
        row.cidr, row.reserved, row.description = str(net), reserved, description
    return pool_view(s, name=name), changed


def declare(name: str, cidr: str, reserved: list[str] | None = None, description: str = "", *,
            url: str | None = None, attempts: int = 5) -> tuple[PoolRead, bool]:
    """``declare_pool`` in its own transaction; two runs declaring one new pool at once both
    succeed (the second finds the first's row when it tries again)."""
    for _ in range(attempts):
        try:
            with session_scope(url) as s:
                return declare_pool(s, name, cidr, reserved, description)
        except IntegrityError:
            continue
    raise PoolError(f"address pool {name!r}: gave up after {attempts} colliding declarations")


def _held_outside(s: Session, pool: str, net: Network, reserved: list[str]) -> list[str]:
    first, last = usable(net)
    addrs = s.execute(select(IpAllocationRow.address).where(IpAllocationRow.pool == pool)).scalars()
    out = []
    for a in addrs:
        ip = ipaddress.ip_address(a)
        if ip not in net or a in reserved or not first <= int(ip) - int(net.network_address) <= last:
            out.append(a)
    return out


def list_pools(s: Session) -> list[PoolRead]:
    return [pool_view(s, name=n) for n in s.execute(select(IpPoolRow.name).order_by(IpPoolRow.name)).scalars()]


def pool_view(s: Session, *, name: str) -> PoolRead:
    row = _pool(s, name)
    net = parse_cidr(row.cidr)
    first, last = usable(net)
    size = last - first + 1 - len(_reserved_offsets(net, row.reserved))
    used = s.scalar(select(func.count()).select_from(IpAllocationRow).where(IpAllocationRow.pool == name)) or 0
    return PoolRead(name=row.name, cidr=row.cidr, reserved=list(row.reserved), description=row.description,
                    size=size, allocated=used, free=size - used, created_at=row.created_at)


def get_pool(s: Session, *, name: str) -> PoolDetail:
    """One pool and every allocation in it."""
    return PoolDetail(**pool_view(s, name=name).model_dump(), allocations=allocations(s, pool=name))


def _pool(s: Session, name: str, *, lock: bool = False) -> IpPoolRow:
    query = select(IpPoolRow).where(IpPoolRow.name == check_name(name))
    row = s.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        raise PoolMissing(f"no address pool {name!r}: declare it with net.pool first")
    return row


def _first_free(net: Network, used: set[int], first: int, last: int) -> int | None:
    for offset in range(first, min(last, first + len(used)) + 1):
        if offset not in used:
            return offset
    return None


def _try_allocate(s: Session, pool: str, owner: str, run_id: str) -> tuple[AllocationRead, bool]:
    row = _pool(s, pool, lock=True)
    net = parse_cidr(row.cidr)
    # One read gives both what this owner holds and every offset taken.
    held = dict(s.execute(select(IpAllocationRow.offset, IpAllocationRow.owner)
                          .where(IpAllocationRow.pool == pool)).tuples().all())
    mine = next((off for off, who in held.items() if who == owner), None)
    if mine is not None:
        return _allocation(net, s.get(IpAllocationRow, (pool, mine))), False
    reserved = _reserved_offsets(net, row.reserved)
    first, last = usable(net)
    offset = _first_free(net, set(held) | reserved, first, last)
    if offset is None:
        size = last - first + 1 - len(reserved)
        raise PoolExhausted(f"address pool {pool!r} ({row.cidr}) is exhausted: all {size} addresses "
                            f"are allocated; release some (net.release) or declare a larger pool")
    new = IpAllocationRow(pool=pool, offset=offset, owner=owner, run_id=run_id,
                          address=str(net.network_address + offset))
    s.add(new)
    s.flush()
    return _allocation(net, new), True


def _allocation(net: Network, row: IpAllocationRow) -> AllocationRead:
    return AllocationRead(pool=row.pool, address=row.address, cidr=f"{row.address}/{net.prefixlen}",
                          prefixlen=net.prefixlen, network=str(net), owner=row.owner, run_id=row.run_id,
                          created_at=row.created_at)


def allocate(pool: str, owner: str, *, run_id: str = "", url: str | None = None,
             attempts: int = 20) -> tuple[AllocationRead, bool]:
    """The owner's address in ``pool``, allocating the lowest free one the first time;
    (the allocation, whether it is new). PoolExhausted when none is free."""
    if not owner or len(owner) > 300:
        raise PoolError("owner: 1 to 300 characters, e.g. '<host>/<service>'")
    for _ in range(attempts):
        try:
            with session_scope(url) as s:
                return _try_allocate(s, pool, owner, run_id)
        except IntegrityError:  # another transaction took that address (or this owner) first
            continue
    raise PoolError(f"address pool {pool!r}: gave up after {attempts} colliding allocations")


def release(s: Session, *, pool: str, owner: str) -> Released:
    """Free the owner's address in ``pool``; ``released`` is "" when it held none."""
    _pool(s, pool)
    row = s.execute(select(IpAllocationRow).where(IpAllocationRow.pool == pool,
                                                  IpAllocationRow.owner == owner)).scalar_one_or_none()
    if row is not None:
        s.delete(row)
    return Released(pool=pool, owner=owner, released=row.address if row else "")


def allocations(s: Session, *, pool: str) -> list[AllocationRead]:
    net = parse_cidr(_pool(s, pool).cidr)
    rows = s.execute(select(IpAllocationRow).where(IpAllocationRow.pool == pool)
                     .order_by(IpAllocationRow.offset)).scalars()
    return [_allocation(net, r) for r in rows]


def delete_pool(s: Session, *, name: str, force: bool = False) -> PoolDeleted:
    """Delete a pool; refused while it holds allocations unless ``force`` (which frees them);
    ``released``: how many allocations went with it."""
    _pool(s, name)
    held = s.scalar(select(func.count()).select_from(IpAllocationRow).where(IpAllocationRow.pool == name)) or 0
    if held and not force:
        raise PoolBusy(f"address pool {name!r} still holds {held} allocations: release them or force")
    s.execute(delete(IpAllocationRow).where(IpAllocationRow.pool == name))
    s.execute(delete(IpPoolRow).where(IpPoolRow.name == name))
    return PoolDeleted(pool=name, released=held)
