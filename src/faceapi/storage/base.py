"""The storage interface the services use; nothing above this layer sees SQL."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Protocol


class EmailTakenError(Exception):
    """An account with this email already exists."""


class StoreUnavailableError(Exception):
    """The store cannot be opened (a bad URL, a missing driver, an unreadable file) or used."""


class StoreBusyError(StoreUnavailableError):
    """Another process held the database locked for longer than the store waits."""


class Access(Enum):
    """What the opener needs of the database; a store that cannot give it is not opened."""

    READ = "read"  # reads only: the file is never changed, and may be read-only
    WRITE = "write"  # changes a database that exists
    CREATE = "create"  # may make it first: the server, and the first key or account


@dataclass(frozen=True, slots=True)
class KeyLimits:
    """A key's own limits; None means the server's default for that limit."""

    rate_per_second: float | None = None
    burst: int | None = None
    monthly_quota: int | None = None


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
    account_id: str | None = None  # None: made with the CLI for no account
    limits: KeyLimits = field(default_factory=KeyLimits)

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A console account: the email is stored lower-cased, the password only as an argon2 hash."""

    id: str
    email: str
    password_hash: str
    is_admin: bool
    created_at: datetime
    disabled_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def role(self) -> str:
        return "administrator" if self.is_admin else "developer"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A console sign-in, kept server-side so it can end before its cookie expires.

    Only a hash of the session id is stored; the id itself lives in the browser's cookie.
    """

    id_hash: str
    account_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None

    def live(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at


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

    def list_keys(self, account_id: str | None = None) -> list[ApiKeyRecord]:
        """Every key, or only those `account_id` owns."""
        ...

    def revoke_key(self, key_id: str, when: datetime) -> bool:
        """Mark the key revoked; False if there is no such active key."""
        ...

    def replace_key(self, key_id: str, record: ApiKeyRecord, when: datetime) -> bool:
        """Revoke the key and add `record` in one transaction, both or neither; False, and
        nothing added, if there is no such active key."""
        ...

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> bool:
        """Replace the key's limits; False if there is no such key."""
        ...

    def record_request(self, key_id: str, endpoint: str, code: int, when: datetime) -> None:
        """Count one request in the key's usage and note when the key was last used."""
        ...

    def usage(self, since: date, key_ids: Collection[str] | None = None) -> list[UsageRow]:
        """Usage from `since` on, of every key or of `key_ids` only."""
        ...

    def take_rate_token(self, key_id: str, now: float, interval: float, burst: int) -> float | None:
        """Admit one request under a `1/interval` per second limit with `burst`.

        Returns None when admitted, else the seconds until a request would be admitted.
        Must be atomic across processes sharing the store.
        """
        ...

    def take_quota(self, key_id: str, month: str, quota: int) -> bool:
        """Count one request against the key's `quota` for `month`; False if it is used up.

        A quota of 0 counts without a cap, so that a quota set mid-month starts from the
        requests already made. Must be atomic across processes sharing the store.
        """
        ...

    def quota_used(self, key_id: str, month: str) -> int:
        """The requests `take_quota` has counted for the key in `month`."""
        ...

    def add_account(self, record: AccountRecord) -> None:
        """Raises EmailTakenError if the email is in use."""
        ...

    def get_account(self, account_id: str) -> AccountRecord | None: ...

    def find_account(self, email: str) -> AccountRecord | None: ...

    def list_accounts(self) -> list[AccountRecord]: ...

    def set_password_hash(
        self, account_id: str, password_hash: str, *, end_sessions_at: datetime | None = None
    ) -> None:
        """Store a new hash; with `end_sessions_at`, revoke the account's sessions in the same
        transaction, so the old password never again starts or keeps one."""
        ...

    def disable_account(self, account_id: str, when: datetime) -> bool:
        """Mark the account disabled and revoke its sessions, at once.

        False if there is no such enabled account.
        """
        ...

    def enable_account(self, account_id: str) -> bool:
        """Clear the account's disabled mark; False if there is no such disabled account."""
        ...

    def add_session(self, record: SessionRecord) -> None:
        """Store a new session, and drop every record that expired before it was made."""
        ...

    def get_session(self, id_hash: str) -> SessionRecord | None: ...

    def revoke_session(self, id_hash: str, when: datetime) -> None: ...

    def take_sign_in_token(
        self, bucket: str, now: float, interval: float, burst: int
    ) -> float | None:
        """As take_rate_token, for a sign-in throttle bucket (an account or an address)."""
        ...

    def return_sign_in_token(self, bucket: str, interval: float) -> None:
        """Undo one take_sign_in_token of `bucket`, made with the same `interval`."""
        ...

    def ensure_secret(self, name: str, candidate: bytes) -> bytes:
        """The secret stored under `name`; stores `candidate` first if there is none."""
        ...

    def ping(self) -> None:
        """Raise if the store cannot be reached or no longer holds its tables."""
        ...

    @property
    def location(self) -> str:
        """Where the data lives, fit for a log line: no password."""
        ...

    @property
    def in_memory(self) -> bool:
        """Whether the data lives only as long as this process (SQLite's sqlite://)."""
        ...

    def backup(self, destination: Path) -> None:
        """Write a consistent copy of the whole store to the new file `destination` while
        other processes go on using it; raise StoreUnavailableError where it cannot."""
        ...

    def close(self) -> None: ...
