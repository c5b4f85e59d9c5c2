"""Secrets at rest: sealed with Fernet, masked everywhere they are shown."""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from nebhx.sealing import masking
from nebhx.sealing.keys import current_keys

MASK = masking.MASK
SEALED = "$enc"


@lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k.encode()) for k in keys])


def fernet() -> MultiFernet:
    """Seals with the newest key, opens with any (see ``nebhx.sealing.keys``)."""
    return _fernet(tuple(current_keys()))


def seal(value: str) -> dict[str, str]:
    return {SEALED: fernet().encrypt(value.encode()).decode()}


def unseal_value(obj: dict[str, str]) -> str:
    try:
        return fernet().decrypt(obj[SEALED].encode()).decode()
    except InvalidToken as exc:
        raise ValueError("a stored secret cannot be decrypted with this server's key "
                         "(NEBHX_SECRET_KEY or the key file differs between processes?)") from exc


def is_sealed(obj: Any) -> bool:
    return isinstance(obj, dict) and len(obj) == 1 and SEALED in obj


def seal_tree(obj: Any) -> Any:
    """Replace every SecretStr in a structure by its sealed form, for storage."""
    if isinstance(obj, SecretStr):
        return seal(obj.get_secret_value())
    if isinstance(obj, dict):
        return {k: seal_tree(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [seal_tree(v) for v in obj]
    return obj


def unseal_tree(obj: Any) -> Any:
    if is_sealed(obj):
        return unseal_value(obj)
    if isinstance(obj, dict):
        return {k: unseal_tree(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unseal_tree(v) for v in obj]
    return obj


def mask_tree(obj: Any) -> Any:
    """What the API, logs and exports show: sealed values become ``******``."""
    if is_sealed(obj) or isinstance(obj, SecretStr):
        return MASK
    if isinstance(obj, dict):
        return {k: mask_tree(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [mask_tree(v) for v in obj]
    return obj


def secret_values(obj: Any) -> list[str]:
    """Every plain secret value inside a sealed structure (to mask them in logs)."""
    if is_sealed(obj):
        return [unseal_value(obj)]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in secret_values(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in secret_values(v)]
    return []


def mask_values(obj: Any, values: list[str]) -> Any:
    """Every plain secret value inside strings of ``obj`` masked (nebhx.sealing.masking, the one
    masking function): what the engine keeps of a node's outputs, errors and logs."""
    return masking.mask_values(obj, values)
