"""API keys: random, shown once, stored as a hash, checked in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.storage import ApiKeyRecord, KeyLimits, Store
from faceapi.text import is_printable

KEY_PREFIX = "fa"
_ID_BYTES = 6  # public identifier, 12 hex digits
_SECRET_BYTES = 24  # 192 random bits: a hash needs no salt or stretching at this strength
_MAX_COUNT = 2**31 - 1  # burst and quota are SQL INTEGER columns: 32 bits on PostgreSQL
# Far beyond any server's speed; above it, a typed rate would no longer read back as shown.
_MAX_RATE = 1_000_000
# A key inside other text, such as a URL path a client put it in by mistake, with or without
# its "fa_": the id's 12 hex digits and "_" that start a key's second part show its secret.
_KEY_IN_TEXT = re.compile(
    rf"((?<![0-9A-Za-z])(?:{KEY_PREFIX}_)?[0-9a-f]{{{2 * _ID_BYTES}}}_)[A-Za-z0-9_-]+"
)
# Limits are typed as plain ASCII decimals, as they read back: int() and float() would also
# take "1_000" and other scripts' digits, and float() "1e3" and "nan".
_N = TypeVar("_N", int, float)
# A minus sign is taken, and far more digits than any limit has, so that the range check
# can say what is wrong with -5 or a 23-digit quota instead of "not a whole number".
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}")
# 20 places after the point read back any rate plain_number shows down to 1e-20 a second.
_DECIMAL_NUMBER = re.compile(r"-?(?:[0-9]{1,12}(?:\.[0-9]{0,20})?|\.[0-9]{1,20})")


@dataclass(frozen=True, slots=True)
class NewKey:
    """A freshly made key: `secret` is the whole key, and this is the only time it exists."""

    record: ApiKeyRecord
    secret: str


class KeyService:
    def __init__(self, store: Store) -> None:
        self._store = store

    def create(
        self, name: str, account_id: str | None = None, limits: KeyLimits | None = None
    ) -> NewKey:
        """A new key for `account_id` (None: a key of no account, as the CLI makes them)."""
        name = name.strip()
        if not name or len(name) > 200:
            raise ValueError(
                "Give the key a name of 1 to 200 characters, such as the site that will use it."
            )
        if not is_printable(name):
            raise ValueError("A key's name cannot hold control or invisible characters.")
        return self._add(name, account_id, limits or KeyLimits())

    def _add(self, name: str, account_id: str | None, limits: KeyLimits) -> NewKey:
        new = _new_key(name, account_id, limits)
        self._store.add_key(new.record)
        return new

    def authenticate(self, key: str) -> ApiKeyRecord:
        """The active record for `key`, or INVALID_API_KEY; timing reveals nothing of the secret.

        A valid key of a disabled account gets ACCOUNT_DISABLED, from the next request on.
        """
        record = self.find_active(key)
        if record is None:
            raise FaceApiError(ErrorCode.INVALID_API_KEY)
        if record.account_id is not None:
            owner = self._store.get_account(record.account_id)
            if owner is None or not owner.active:
                raise FaceApiError(ErrorCode.ACCOUNT_DISABLED)
        return record

    def find_active(self, key: str) -> ApiKeyRecord | None:
        """The record of `key` if it is a valid, unrevoked key; timing reveals nothing of the
        secret. Its owner is not checked."""
        if not key.isascii():  # never a key, and a lone surrogate ("\ud800") cannot be hashed
            key = ""
        prefix, _, rest = key.partition("_")
        key_id, _, secret = rest.partition("_")
        record = self._store.get_key(key_id) if prefix == KEY_PREFIX and secret else None
        # Compare even when the id is unknown, so that case costs the same time.
        expected = record.secret_hash if record else _hash("")
        if not hmac.compare_digest(expected, _hash(secret)) or not record or not record.active:
            return None
        return record

    def get(self, key_id: str) -> ApiKeyRecord | None:
        return self._store.get_key(key_id)

    def list(self, account_id: str | None = None) -> list[ApiKeyRecord]:
        """Every key, or only those of `account_id`."""
        return self._store.list_keys(account_id)

    def revoke(self, key_id: str) -> bool:
        return self._store.revoke_key(key_id, datetime.now(UTC))

    def rotate(self, key_id: str) -> NewKey:
        """Replace an active key: a new one with its name, owner and limits; the old is revoked.

        Both happen in one transaction, so a failure cannot leave the owner without a key;
        only one caller can revoke, so a rotation submitted twice at once makes one new key,
        not two. The name is kept as stored, even one that `create` would now refuse.
        """
        old = self._store.get_key(key_id)
        new = _new_key(old.name, old.account_id, old.limits) if old else None
        if new is None or not self._store.replace_key(key_id, new.record, datetime.now(UTC)):
            raise ValueError("Only an active key can be rotated; this one is already revoked.")
        return new

    def set_limits(self, key_id: str, limits: KeyLimits) -> bool:
        """Replace the key's own limits; False if there is no such key.

        Raises ValueError, worded for the person who typed the limits, if one is out of range.
        """
        _check_limits(limits)
        return self._store.set_key_limits(key_id, limits)


def _new_key(name: str, account_id: str | None, limits: KeyLimits) -> NewKey:
    key_id = secrets.token_hex(_ID_BYTES)
    secret = secrets.token_urlsafe(_SECRET_BYTES)
    record = ApiKeyRecord(
        id=key_id,
        name=name,
        prefix=f"{KEY_PREFIX}_{key_id}",
        secret_hash=_hash(secret),
        created_at=datetime.now(UTC),
        account_id=account_id,
        limits=limits,
    )
    return NewKey(record, f"{KEY_PREFIX}_{key_id}_{secret}")


def parse_limits(rate_per_second: str, burst: str, monthly_quota: str) -> KeyLimits:
    """Limits as a person typed them; a blank one is None (the server's default).

    Raises ValueError, worded for that person, if one is not a plain decimal number.
    `KeyService.set_limits` checks the ranges.
    """
    return KeyLimits(
        _parse(
            rate_per_second,
            _DECIMAL_NUMBER,
            float,
            "The rate must be a number of requests per second, such as 2 or 0.5.",
        ),
        _parse(burst, _WHOLE_NUMBER, int, "The burst must be a whole number of requests."),
        _parse(
            monthly_quota,
            _WHOLE_NUMBER,
            int,
            "The monthly quota must be a whole number of requests.",
        ),
    )


def _parse(text: str, pattern: re.Pattern[str], kind: type[_N], message: str) -> _N | None:
    text = text.strip()
    if not text:
        return None
    if not pattern.fullmatch(text):
        raise ValueError(message)
    return kind(text)


def _check_limits(limits: KeyLimits) -> None:
    rate, burst, quota = limits.rate_per_second, limits.burst, limits.monthly_quota
    if rate is not None and not 0 <= rate <= _MAX_RATE:  # NaN fails too
        raise ValueError(
            f"The rate must be at least 0 (0 means no rate limit) and at most {_MAX_RATE:,} "
            "per second."
        )
    if burst is not None and not 1 <= burst <= _MAX_COUNT:
        raise ValueError(f"The burst must be at least 1 and at most {_MAX_COUNT}.")
    if quota is not None and not 0 <= quota <= _MAX_COUNT:
        raise ValueError(
            f"The monthly quota must be at least 0 (0 means no quota) and at most {_MAX_COUNT}."
        )


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def without_secrets(text: str) -> str:
    """`text` with the secret of any key in it masked, so that it can be logged or echoed."""
    return _KEY_IN_TEXT.sub(r"\1***", text)
