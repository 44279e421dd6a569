"""Where keys and usage live: a small interface, and SQL behind it (SQLite by default)."""

from faceapi.storage.base import ApiKeyRecord, Store, UsageRow
from faceapi.storage.sql import SqlStore, open_store

__all__ = ["ApiKeyRecord", "SqlStore", "Store", "UsageRow", "open_store"]
