"""Console accounts against a real SQLite file: hashing, throttling, sessions, disabling."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.accounts import (
    ACCOUNT_THROTTLE,
    ADDRESS_THROTTLE,
    AccountDisabledError,
    AccountError,
    AccountService,
    SignInThrottledError,
    WrongCredentialsError,
)
from faceapi.services.keys import KeyService
from faceapi.services.sessions import SessionService, session_id_hash
from faceapi.storage import AccountRecord, SqlStore, open_store

PASSWORD = "correct horse battery"
# The real parameters cost about half a second a hash; these tests check logic, not cost.
FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture
def accounts(store: SqlStore) -> AccountService:
    return AccountService(store, FAST)


@pytest.fixture
def sessions(store: SqlStore) -> SessionService:
    return SessionService(store, timedelta(hours=1))


def _stored_bytes(tmp_path: Path) -> bytes:
    """Everything the database wrote: its file and its write-ahead log."""
    return b"".join(path.read_bytes() for path in tmp_path.glob("faceapi.sqlite3*"))


def test_passwords_are_stored_only_as_argon2id(store: SqlStore, tmp_path: Path) -> None:
    account = AccountService(store).create("ada@example.com", PASSWORD)
    assert account.password_hash.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PASSWORD.encode() not in _stored_bytes(tmp_path)


def test_emails_are_lower_cased_and_unique(accounts: AccountService) -> None:
    account = accounts.create("  Ada@Example.COM ", PASSWORD)
    assert account.email == "ada@example.com"
    with pytest.raises(AccountError, match="already exists"):
        accounts.create("ADA@example.com", PASSWORD)
    assert accounts.find("ADA@EXAMPLE.com") == account


# "José" three ways: "é" as one character, as "e" and a combining accent, and with a fullwidth
# "J"; all look alike.
JOSE = "jos\u00e9@example.com"
JOSE_COMBINING = "jose\u0301@example.com"
JOSE_FULLWIDTH = "\uff2aose\u0301@example.com"


def test_lookalike_spellings_of_an_email_are_one_account(accounts: AccountService) -> None:
    account = accounts.create(JOSE, PASSWORD)
    for twin in (JOSE_COMBINING, JOSE_FULLWIDTH, JOSE_COMBINING.upper()):
        with pytest.raises(AccountError, match="already exists"):
            accounts.create(twin, PASSWORD)
        assert accounts.find(twin) == account
        assert accounts.authenticate(twin, PASSWORD, "10.0.0.1") == account
    assert (
        accounts.create(JOSE_COMBINING.replace("jose", "joe"), PASSWORD).email
        == "jo\u00e9@example.com"
    )


def test_a_domain_in_punycode_is_the_domain_it_spells(accounts: AccountService) -> None:
    """Browsers send "éxample.com" as "xn--xample-9ua.com": two accounts for one mailbox,
    and an account made by the CLI could not sign in from the console."""
    account = accounts.create("ana@\u00e9xample.com", PASSWORD)
    for spelling in ("ana@xn--xample-9ua.com", "ANA@XN--XAMPLE-9UA.COM"):
        assert accounts.find(spelling) == account
        with pytest.raises(AccountError, match="already exists"):
            accounts.create(spelling, PASSWORD)
    assert accounts.create("bo@xn--zz.com", PASSWORD).email == "bo@xn--zz.com"  # not punycode


@pytest.mark.parametrize(
    ("email", "scripts"),
    [
        ("dev@ex\u0430mple.com", "Cyrillic and Latin"),  # a Cyrillic "a"
        ("p\u0430ypal@example.com", "Cyrillic and Latin"),
        ("dev@g\u03bfogle.com", "Greek and Latin"),  # a Greek omicron
        ("admin@пример例え.jp", "Cyrillic, Han and Hiragana"),
        ("dev@xn--exmple-4nf.com", "Cyrillic and Latin"),  # the first, as punycode
    ],
)
def test_emails_mixing_scripts_within_a_part_are_refused(
    accounts: AccountService, email: str, scripts: str
) -> None:
    with pytest.raises(AccountError, match=f"in one script: .* mixes {scripts} letters"):
        accounts.create(email, PASSWORD)
    assert accounts.list() == []


@pytest.mark.parametrize(
    "email",
    [
        "иван@пример.рф",  # all Cyrillic
        "ivan@пример.com",  # one script a part
        "δοκιμή@example.gr",
        "山田たろう@例え.jp",  # Han and hiragana, written together
        "コーヒー@example.jp",  # katakana with the long-vowel mark, a letter of no one script
        "김민준@예시.kr",
        JOSE,
    ],
)
def test_emails_in_one_script_a_part_are_accepted(accounts: AccountService, email: str) -> None:
    assert accounts.create(email, PASSWORD).email == email


def _stored_account(store: SqlStore, email: str, days_ago: int) -> AccountRecord:
    """An account as an older version stored it: the email only lower-cased."""
    record = AccountRecord(
        id=secrets.token_hex(8),
        email=email.strip().lower(),
        password_hash=FAST.hash(PASSWORD),
        is_admin=False,
        created_at=datetime.now(UTC) - timedelta(days=days_ago),
    )
    store.add_account(record)
    return record


def test_accounts_stored_before_emails_were_normalised_are_found(
    accounts: AccountService, store: SqlStore
) -> None:
    """An older database may hold spellings now normalised alike, even two of one address."""
    older = _stored_account(store, JOSE_COMBINING, days_ago=2)
    _stored_account(store, JOSE_FULLWIDTH, days_ago=1)
    for spelling in (JOSE, JOSE_COMBINING, JOSE_FULLWIDTH):
        assert accounts.find(spelling) == older
        assert accounts.authenticate(spelling, PASSWORD, "10.0.0.1") == older
    with pytest.raises(AccountError, match="already exists"):
        accounts.create(JOSE, PASSWORD)
    assert len(accounts.list()) == 2


def test_an_unknown_email_does_not_read_every_account(
    accounts: AccountService, store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scan per lookup made unknown emails slower than known ones, telling which exist,
    and gave throttled clients full-table work for nothing (found by review)."""
    older = _stored_account(store, JOSE_COMBINING, days_ago=2)
    reads: list[int] = []
    list_accounts = store.list_accounts
    monkeypatch.setattr(store, "list_accounts", lambda: reads.append(1) or list_accounts())
    for attempt in range(5):
        assert accounts.find(f"nobody{attempt}@example.com") is None
    assert accounts.find(JOSE) == older
    assert len(reads) <= 1


@pytest.mark.parametrize(
    ("email", "password", "complaint"),
    [
        ("not-an-email", PASSWORD, "email address"),
        ("a b@example.com", PASSWORD, "email address"),
        ("\x1b]0;pwned\x07ada@example.com", PASSWORD, "email address"),  # rewrites a terminal
        ("admin\u202e@example.com", PASSWORD, "email address"),  # right-to-left override
        ("admin\u00ad@example.com", PASSWORD, "email address"),  # soft hyphen: looks the same
        ("admin@example.com.", PASSWORD, "email address"),  # a trailing dot: looks the same
        ("ada@.example.com", PASSWORD, "email address"),
        ("ada@example.com", "short", "at least 10"),
        ("ada@example.com", "x" * 2000, "at most"),
        ("ada.lovelace@example.com", "Ada.Lovelace@example.com", "other than your email"),
    ],
)
def test_bad_emails_and_passwords_are_refused(
    accounts: AccountService, email: str, password: str, complaint: str
) -> None:
    with pytest.raises(AccountError, match=complaint):
        accounts.create(email, password)


def test_sign_in_needs_the_right_password(accounts: AccountService) -> None:
    created = accounts.create("ada@example.com", PASSWORD)
    assert accounts.authenticate("ADA@example.com", PASSWORD, "10.0.0.1") == created
    with pytest.raises(WrongCredentialsError) as wrong:
        accounts.authenticate("ada@example.com", PASSWORD + "!", "10.0.0.1")
    with pytest.raises(WrongCredentialsError) as unknown:
        accounts.authenticate("bob@example.com", PASSWORD, "10.0.0.1")
    assert str(wrong.value) == str(unknown.value)  # which emails exist is not told


def test_sign_in_is_throttled_per_account(accounts: AccountService) -> None:
    accounts.create("ada@example.com", PASSWORD)
    accounts.create("bob@example.com", PASSWORD)
    for attempt in range(ACCOUNT_THROTTLE.burst):
        with pytest.raises(WrongCredentialsError):
            accounts.authenticate("ada@example.com", f"guess {attempt}", f"10.0.0.{attempt}")
    with pytest.raises(SignInThrottledError) as throttled:
        accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.99")  # even the right one
    assert 1 <= throttled.value.retry_after <= ACCOUNT_THROTTLE.interval
    assert accounts.authenticate("bob@example.com", PASSWORD, "10.0.0.99").email.startswith("bob")


def test_only_wrong_passwords_use_up_the_throttles(accounts: AccountService) -> None:
    ada = accounts.create("ada@example.com", PASSWORD)
    for _ in range(ADDRESS_THROTTLE.burst + 1):  # more than either budget holds
        assert accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.1") == ada
    changed = accounts.change_password(ada, PASSWORD, "another good password")
    for attempt in range(ACCOUNT_THROTTLE.burst):
        with pytest.raises(WrongCredentialsError):
            accounts.change_password(changed, f"guess {attempt}", "yet another password")
    with pytest.raises(SignInThrottledError):  # the page shares the account's budget
        accounts.authenticate("ada@example.com", "another good password", "10.0.0.1")


def test_a_right_password_does_not_clear_earlier_failures(accounts: AccountService) -> None:
    """Else the owner's every sign-in would hand someone guessing five more tries."""
    accounts.create("ada@example.com", PASSWORD)
    for attempt in range(ACCOUNT_THROTTLE.burst - 1):
        with pytest.raises(WrongCredentialsError):
            accounts.authenticate("ada@example.com", f"guess {attempt}", "10.0.0.1")
    assert accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.1")
    with pytest.raises(WrongCredentialsError):
        accounts.authenticate("ada@example.com", "one more guess", "10.0.0.1")
    with pytest.raises(SignInThrottledError):
        accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.1")


def test_attempts_refused_by_the_account_throttle_cost_the_address_nothing(
    accounts: AccountService,
) -> None:
    accounts.create("ada@example.com", PASSWORD)
    accounts.create("bob@example.com", PASSWORD)
    for attempt in range(ACCOUNT_THROTTLE.burst):
        with pytest.raises(WrongCredentialsError):
            accounts.authenticate("ada@example.com", f"guess {attempt}", f"10.0.0.{attempt}")
    for _ in range(ADDRESS_THROTTLE.burst):
        with pytest.raises(SignInThrottledError):
            accounts.authenticate("ada@example.com", PASSWORD, "192.0.2.7")
    assert accounts.authenticate("bob@example.com", PASSWORD, "192.0.2.7")


@pytest.mark.parametrize(("wait", "worded"), [(1, "1 second."), (59, "59 seconds.")])
def test_the_wait_is_worded_for_its_count(wait: int, worded: str) -> None:
    assert str(SignInThrottledError(wait)) == f"Too many attempts. Try again in {worded}"


def test_sign_in_is_throttled_per_address(accounts: AccountService) -> None:
    """Spraying guesses over many accounts from one address is slowed down too."""
    for number in range(ADDRESS_THROTTLE.burst):
        with pytest.raises(WrongCredentialsError):
            accounts.authenticate(f"user{number}@example.com", PASSWORD, "192.0.2.7")
    with pytest.raises(SignInThrottledError):
        accounts.authenticate("someone@example.com", PASSWORD, "192.0.2.7")
    with pytest.raises(WrongCredentialsError):  # another address is not affected
        accounts.authenticate("someone@example.com", PASSWORD, "192.0.2.8")


def test_sign_ups_are_throttled_per_address(accounts: AccountService) -> None:
    for _ in range(ADDRESS_THROTTLE.burst):
        with pytest.raises(AccountError, match="email address"):
            accounts.create("not an email", PASSWORD, address="192.0.2.9")
    with pytest.raises(SignInThrottledError):
        accounts.create("ada@example.com", PASSWORD, address="192.0.2.9")
    assert accounts.create("ada@example.com", PASSWORD).email == "ada@example.com"  # the CLI


def test_throttle_state_holds_no_emails_or_addresses(
    accounts: AccountService, tmp_path: Path
) -> None:
    with pytest.raises(WrongCredentialsError):
        accounts.authenticate("secret-person@example.com", PASSWORD, "198.51.100.23")
    stored = _stored_bytes(tmp_path)
    assert b"secret-person" not in stored
    assert b"198.51.100.23" not in stored


def test_changing_the_password_ends_every_session_of_the_account(
    accounts: AccountService, sessions: SessionService
) -> None:
    ada = accounts.create("ada@example.com", PASSWORD)
    bob = accounts.create("bob@example.com", PASSWORD)
    ada_session, bob_session = sessions.start(ada.id), sessions.start(bob.id)
    with pytest.raises(WrongCredentialsError):
        accounts.change_password(ada, "not the password", "another good password")
    assert sessions.account_of(ada_session) == ada  # a refused change ends nothing
    changed = accounts.change_password(ada, PASSWORD, "another good password")
    assert sessions.account_of(ada_session) is None
    assert sessions.account_of(bob_session) == bob
    assert sessions.account_of(sessions.start(ada.id)) == changed
    assert accounts.authenticate("ada@example.com", "another good password", "10.0.0.1")
    with pytest.raises(WrongCredentialsError):
        accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.1")


def test_sessions_are_stored_hashed_and_end_when_signed_out(
    accounts: AccountService, sessions: SessionService, tmp_path: Path
) -> None:
    ada = accounts.create("ada@example.com", PASSWORD)
    session_id = sessions.start(ada.id)
    assert sessions.account_of(session_id) == ada
    stored = _stored_bytes(tmp_path)
    assert session_id.encode() not in stored
    assert session_id_hash(session_id).encode() in stored
    sessions.end(session_id)
    assert sessions.account_of(session_id) is None
    assert sessions.account_of("a made-up id") is None


def test_expired_sessions_are_refused_and_swept_away(
    accounts: AccountService, sessions: SessionService, store: SqlStore
) -> None:
    ada = accounts.create("ada@example.com", PASSWORD)
    expired = SessionService(store, timedelta(seconds=-1)).start(ada.id)  # expired when made
    assert store.get_session(session_id_hash(expired)) is not None
    assert sessions.account_of(expired) is None
    sessions.start(ada.id)  # the next sign-in drops expired records
    assert store.get_session(session_id_hash(expired)) is None


def test_a_disabled_account_is_refused_until_enabled_again(
    accounts: AccountService, sessions: SessionService, store: SqlStore
) -> None:
    keys = KeyService(store)
    account = accounts.create("ada@example.com", PASSWORD)
    session = sessions.start(account.id)
    owned = keys.create("shop", account.id).secret
    cli_key = keys.create("no owner").secret
    assert keys.authenticate(owned).account_id == account.id
    assert not accounts.enable(account.id)  # it is not disabled
    assert accounts.disable(account.id)
    assert not accounts.disable(account.id)
    assert sessions.account_of(session) is None
    with pytest.raises(AccountDisabledError):
        accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.1")
    with pytest.raises(FaceApiError) as refused:
        keys.authenticate(owned)
    assert refused.value.code is ErrorCode.ACCOUNT_DISABLED
    assert keys.authenticate(cli_key).account_id is None

    assert accounts.enable(account.id)
    assert keys.authenticate(owned).account_id == account.id
    assert accounts.authenticate("ada@example.com", PASSWORD, "10.0.0.1").active
    assert sessions.account_of(session) is None  # it signs in afresh


def test_the_signing_secret_is_made_once_and_shared(tmp_path: Path) -> None:
    """Every worker and every restart opens the database and must sign sessions alike."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    first, second = open_store(url), open_store(url)
    secret = AccountService(first).signing_secret()
    assert len(secret) == 32
    assert AccountService(second).signing_secret() == secret
    first.close()
    second.close()
    reopened = open_store(url)
    assert AccountService(reopened).signing_secret() == secret
    reopened.close()
