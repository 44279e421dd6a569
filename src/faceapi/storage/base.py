"""The storage interface the services use; nothing above this layer sees SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    """An API key as stored: never the key itself, only its public id and a hash of its secret."""

    id: str
    name: str
    prefix: str
    secret_hash: bytes
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class UsageRow:
    """Requests one key made to one endpoint on one day that ended with one result code."""

    key_id: str
    day: date
    endpoint: str
    code: int
    count: int


class Store(Protocol):
    def add_key(self, record: ApiKeyRecord) -> None: ...

    def get_key(self, key_id: str) -> ApiKeyRecord | None: ...

    def list_keys(self) -> list[ApiKeyRecord]: ...

    def revoke_key(self, key_id: str, when: datetime) -> bool:
        """Mark the key revoked; False if there is no such active key."""
        ...

    def record_request(self, key_id: str, endpoint: str, code: int, when: datetime) -> None:
        """Count one request in the key's usage and note when the key was last used."""
        ...

    def usage(self, since: date, key_id: str | None = None) -> list[UsageRow]: ...

    def take_rate_token(self, key_id: str, now: float, interval: float, burst: int) -> float | None:
        """Admit one request under a `1/interval` per second limit with `burst`.

        Returns None when admitted, else the seconds until a request would be admitted.
        Must be atomic across processes sharing the store.
        """
        ...

    def ping(self) -> None:
        """Raise if the store cannot be reached."""
        ...

    def close(self) -> None: ...
