"""What the address pool routes answer."""
from __future__ import annotations

from pydantic import BaseModel, Field

from nebhx.timestamps import Timestamp


class PoolRead(BaseModel):
    """An address pool with its usage."""
    name: str
    cidr: str
    reserved: list[str] = Field(description="Addresses never handed out")
    description: str
    size: int = Field(description="Addresses it can hand out")
    allocated: int
    free: int
    created_at: Timestamp | None


class AllocationRead(BaseModel):
    """One address held by one owner."""
    pool: str
    address: str
    cidr: str = Field(description="The address with the pool's prefix length")
    prefixlen: int
    network: str
    owner: str
    run_id: str = Field(description="The run that allocated it ('' when not from a run)")
    created_at: Timestamp | None


class PoolDetail(PoolRead):
    allocations: list[AllocationRead]


class Released(BaseModel):
    pool: str
    owner: str
    released: str = Field(description="The address freed, '' when the owner held none")


class PoolDeleted(BaseModel):
    pool: str
    released: int = Field(description="Allocations freed with it (force)")
