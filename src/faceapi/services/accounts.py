"""Console accounts: argon2id passwords, throttled sign-in, and the secret that signs sessions."""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from faceapi.storage import AccountRecord, EmailTakenError, Store
from faceapi.text import is_printable, mixed_scripts, quantity

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing is costly: refuse megabyte "passwords" before it starts
# Something before the @, a domain after it that neither starts nor ends with a dot.
_EMAIL = re.compile(r"^[^@\s]+@(?!\.)[^@\s]+(?<!\.)$")
_SIGNING_KEY_NAME = "session-signing"  # under which the random value is stored
_TAKEN = "An account with this email already exists."


class AccountError(Exception):
    """Something the person at the console can fix; the message says what, in plain words."""


class WrongCredentialsError(AccountError):
    pass


class AccountDisabledError(AccountError):
    pass


class SignInThrottledError(AccountError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts. Try again in {quantity(retry_after, 'seconds')}.")
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Throttle:
    """`burst` attempts at once, then one every `interval` seconds."""

    kind: str
    interval: float
    burst: int


# Per account: a guesser gets five tries, then one a minute. Per address: room for an office
# behind one NAT, yet far too slow to spray passwords across accounts.
ACCOUNT_THROTTLE = Throttle("account", interval=60, burst=5)
ADDRESS_THROTTLE = Throttle("address", interval=6, burst=30)


def normalize_email(email: str) -> str:
    """`email` as it is stored and compared: spellings that look alike, such as "é" as one
    character or as "e" and an accent, or fullwidth letters, become one (NFKC), lower-cased,
    and a domain's punycode ("xn--xample-9ua" for "éxample", as browsers send one) is read
    as the letters it stands for. Lower-casing can undo NFKC, hence the second pass."""
    local, at, domain = email.strip().rpartition("@")
    if at:
        domain = ".".join(_from_punycode(label) for label in domain.split("."))
    return _nfkc(_nfkc(f"{local}{at}{domain}").lower())


def _from_punycode(label: str) -> str:
    if not label.lower().startswith("xn--"):
        return label
    try:
        return label.lower().encode("ascii").decode("idna")
    except UnicodeError:
        return label  # not valid punycode: kept as typed, and checked as any other text


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


class AccountService:
    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self._store = store
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106's low-memory profile

    def create(
        self, email: str, password: str, *, admin: bool = False, address: str | None = None
    ) -> AccountRecord:
        """A new account; `address`, for a self-service sign-up, is throttled like sign-ins."""
        if address is not None:
            self._throttle(ADDRESS_THROTTLE, address)
        email = _valid_email(email)
        if self._find(email) is not None:
            raise AccountError(_TAKEN)
        _check_password(password, email)
        record = AccountRecord(
            id=secrets.token_hex(8),
            email=email,
            password_hash=self._hasher.hash(password),
            is_admin=admin,
            created_at=datetime.now(UTC),
        )
        try:
            self._store.add_account(record)
        except EmailTakenError as error:
            raise AccountError(_TAKEN) from error
        return record

    def authenticate(self, email: str, password: str, address: str) -> AccountRecord:
        """The account, if the password is right; throttled per address, then per account."""
        email = normalize_email(email)
        account = self._find(email)
        # An unknown email costs a hash too, so timing does not tell which emails exist.
        password_hash = account.password_hash if account else self._decoy
        limits = ((ADDRESS_THROTTLE, address), (ACCOUNT_THROTTLE, email))
        if not self._check(password_hash, password, limits):
            raise WrongCredentialsError("Wrong email or password.")
        assert account is not None
        if not account.active:
            raise AccountDisabledError("This account is disabled. Ask an administrator.")
        if self._hasher.check_needs_rehash(account.password_hash):
            return self._set_password(account, password)
        return account

    def change_password(self, account: AccountRecord, current: str, new: str) -> AccountRecord:
        """Set a new password and end every session of the account (the caller may start one)."""
        limits = ((ACCOUNT_THROTTLE, normalize_email(account.email)),)  # as at sign-in
        if not self._check(account.password_hash, current, limits):
            raise WrongCredentialsError("The current password is wrong.")
        return self.reset_password(account, new)

    def reset_password(self, account: AccountRecord, new: str) -> AccountRecord:
        """Set a new password without the current one (an administrator recovering an
        account) and end every session of the account."""
        _check_password(new, account.email)
        # The slow hash comes first; the new hash and the end of every session are then one
        # transaction, so there is no moment in which the old password still opens a session.
        return self._set_password(account, new, end_sessions=True)

    def get(self, account_id: str) -> AccountRecord | None:
        return self._store.get_account(account_id)

    def find(self, email: str) -> AccountRecord | None:
        return self._find(normalize_email(email))

    def list(self) -> list[AccountRecord]:
        return self._store.list_accounts()

    def disable(self, account_id: str) -> bool:
        """Disable the account: its sessions end and its keys are refused, at once."""
        return self._store.disable_account(account_id, datetime.now(UTC))

    def enable(self, account_id: str) -> bool:
        """Enable a disabled account: it may sign in again, and its unrevoked keys work again."""
        return self._store.enable_account(account_id)

    def signing_secret(self) -> bytes:
        """The random key that signs console sessions: made once, shared by every worker."""
        return self._store.ensure_secret(_SIGNING_KEY_NAME, secrets.token_bytes(32))

    def _set_password(
        self, account: AccountRecord, password: str, *, end_sessions: bool = False
    ) -> AccountRecord:
        password_hash = self._hasher.hash(password)
        self._store.set_password_hash(
            account.id, password_hash, end_sessions_at=datetime.now(UTC) if end_sessions else None
        )
        return replace(account, password_hash=password_hash)

    def _find(self, email: str) -> AccountRecord | None:
        """The account of the normalised `email`: the one stored so, or else one stored before
        emails were normalised that spells it otherwise."""
        account = self._store.find_account(email)
        if account is None and email in self._stored_otherwise:
            account = self._store.get_account(self._stored_otherwise[email])
        return account

    @cached_property
    def _stored_otherwise(self) -> dict[str, str]:
        """Normalised email -> the account stored before emails were normalised that spells
        it otherwise; the oldest if several do (a lookalike made later is the likelier
        impostor; the rest stay listed for an administrator to disable). Read once, not per
        lookup, so an unknown email costs what a known one does: every account made since is
        stored normalised."""
        by_age = sorted(self._store.list_accounts(), key=lambda old: old.created_at, reverse=True)
        return {
            normalize_email(old.email): old.id
            for old in by_age
            if normalize_email(old.email) != old.email
        }

    def _check(
        self, password_hash: str, password: str, limits: tuple[tuple[Throttle, str], ...]
    ) -> bool:
        """Whether `password` is right, within the budgets of `limits`: only wrong ones count.

        A token of each is taken before the slow hash, so guesses sent at once cannot all slip
        past the limit; a right password gives its tokens back, and so does an attempt refused
        by a later throttle, since it checked nothing. A right password does not clear earlier
        failures: then each sign-in of the owner (or, for an address, of a guesser's own
        account in between) would grant a guesser five more tries.
        """
        taken: list[tuple[Throttle, str]] = []
        try:
            for throttle, subject in limits:
                self._throttle(throttle, subject)
                taken.append((throttle, subject))
        except SignInThrottledError:
            self._give_back(taken)
            raise
        right = self._verify(password_hash, password)
        if right:
            self._give_back(taken)
        return right

    def _give_back(self, taken: list[tuple[Throttle, str]]) -> None:
        for throttle, subject in taken:
            self._store.return_sign_in_token(_bucket(throttle, subject), throttle.interval)

    def _verify(self, password_hash: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def _throttle(self, throttle: Throttle, subject: str) -> None:
        wait = self._store.take_sign_in_token(
            _bucket(throttle, subject), time.time(), throttle.interval, throttle.burst
        )
        if wait is not None:
            raise SignInThrottledError(max(1, math.ceil(wait)))

    @cached_property
    def _decoy(self) -> str:
        return self._hasher.hash(secrets.token_urlsafe(16))


def _bucket(throttle: Throttle, subject: str) -> str:
    # Named by a hash: the throttle table holds no addresses or emails.
    return hashlib.sha256(f"{throttle.kind}:{subject}".encode()).hexdigest()


def _valid_email(email: str) -> str:
    """`email` normalised, if it is an address that shows as itself and mixes no scripts."""
    email = normalize_email(email)
    if len(email) > 254 or not _EMAIL.match(email) or not is_printable(email):
        raise AccountError("Enter an email address such as ada@example.com.")
    for part in re.split(r"[.@]", email):
        if scripts := mixed_scripts(part):
            raise AccountError(
                f'Write each part of the email address in one script: "{part}" mixes '
                f"{', '.join(scripts[:-1])} and {scripts[-1]} letters, so it could pass for "
                "another address."
            )
    return email


def _check_password(password: str, email: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise AccountError(
            f"Choose a password of at least {MIN_PASSWORD} characters (at most {MAX_PASSWORD})."
        )
    if normalize_email(password) == normalize_email(email):  # the first guess anyone would make
        raise AccountError("Choose a password other than your email address.")
