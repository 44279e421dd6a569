"""Console sign-in sessions, recorded in the store so that ending one holds for every worker.

A session is named by a random id that only the browser's cookie holds; the store keeps its
SHA-256, the account, and when it was made, expires and was revoked.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from faceapi.storage import AccountRecord, SessionRecord, Store


def session_id_hash(session_id: str) -> str:
    # 256 random bits: a plain hash suffices, and looking it up reveals nothing through timing.
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionService:
    def __init__(self, store: Store, lifetime: timedelta) -> None:
        self._store = store
        self.lifetime = lifetime

    def start(self, account_id: str) -> str:
        """A new session of the account; returns its id, for the cookie and nowhere else."""
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        record = SessionRecord(session_id_hash(session_id), account_id, now, now + self.lifetime)
        self._store.add_session(record)
        return session_id

    def account_of(self, session_id: str) -> AccountRecord | None:
        """The account signed in by `session_id`; None once that session ended or expired."""
        record = self._store.get_session(session_id_hash(session_id))
        if record is None or not record.live(datetime.now(UTC)):
            return None
        account = self._store.get_account(record.account_id)
        # A sign-in checked just before the account was disabled may have made a session since.
        return account if account is not None and account.active else None

    def end(self, session_id: str) -> None:
        self._store.revoke_session(session_id_hash(session_id), datetime.now(UTC))
