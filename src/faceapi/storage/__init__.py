"""Where accounts, keys and usage live: a small interface, and SQL behind it (SQLite by default)."""

from faceapi.storage.base import (
    Access,
    AccountRecord,
    ApiKeyRecord,
    EmailTakenError,
    KeyLimits,
    SessionRecord,
    Store,
    StoreBusyError,
    StoreUnavailableError,
    UsageRow,
)
from faceapi.storage.sql import SqlStore, open_store, without_password

__all__ = [
    "Access",
    "AccountRecord",
    "ApiKeyRecord",
    "EmailTakenError",
    "KeyLimits",
    "SessionRecord",
    "SqlStore",
    "Store",
    "StoreBusyError",
    "StoreUnavailableError",
    "UsageRow",
    "open_store",
    "without_password",
]
