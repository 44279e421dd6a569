"""API keys: random, shown once, stored as a hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.storage import ApiKeyRecord, Store

KEY_PREFIX = "fa"
_ID_BYTES = 6  # public identifier, 12 hex digits
_SECRET_BYTES = 24  # 192 random bits: a hash needs no salt or stretching at this strength


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: `secret` is the whole key, and this is the only time it exists."""

    record: ApiKeyRecord
    secret: str


class KeyService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(self, name: str) -> NewKey:
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError("a key's name must be 1 to 200 characters")
        key_id = secrets.token_hex(_ID_BYTES)
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        record = ApiKeyRecord(
            id=key_id,
            name=name,
            prefix=f"{KEY_PREFIX}_{key_id}",
            secret_hash=_hash(secret),
            created_at=datetime.now(UTC),
        )
        self._store.add_key(record)
        return NewKey(record, f"{KEY_PREFIX}_{key_id}_{secret}")

    def authenticate(self, key: str) -> ApiKeyRecord:
        """The active record for `key`, or INVALID_API_KEY; timing reveals nothing of the secret."""
        prefix, _, rest = key.partition("_")
        key_id, _, secret = rest.partition("_")
        record = self._store.get_key(key_id) if prefix == KEY_PREFIX and secret else None
        # Compare even when the id is unknown, so that case costs the same time.
        expected = record.secret_hash if record else _hash("")
        if not hmac.compare_digest(expected, _hash(secret)) or not record or not record.active:
            raise FaceApiError(ErrorCode.INVALID_API_KEY)
        return record

    def list(self) -> list[ApiKeyRecord]:
        return self._store.list_keys()

    def revoke(self, key_id: str) -> bool:
        return self._store.revoke_key(key_id, datetime.now(UTC))


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()
