"""Keys, usage counting and rate limits against a real SQLite database file."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.keys import KeyService
from faceapi.services.usage import Limits, UsageService
from faceapi.storage import (
    Access,
    SqlStore,
    StoreBusyError,
    StoreUnavailableError,
    open_store,
    sql,
)
from faceapi.storage.sql import _check_schema, database_location


def test_key_is_random_shown_once_and_stored_only_as_hash(store: SqlStore, tmp_path: Path) -> None:
    keys = KeyService(store)
    first, second = keys.create("shop"), keys.create("site")
    assert first.secret != second.secret
    assert first.secret.startswith(first.record.prefix + "_")
    secret_part = first.secret.removeprefix(first.record.prefix + "_")
    assert len(secret_part) >= 32  # 192 bits in URL-safe base64
    database = (tmp_path / "faceapi.sqlite3").read_bytes()
    wal = tmp_path / "faceapi.sqlite3-wal"
    stored = database + (wal.read_bytes() if wal.exists() else b"")
    assert secret_part.encode() not in stored
    assert keys.authenticate(first.secret).id == first.record.id


@pytest.mark.parametrize(
    "mangle",
    [
        lambda key: key[:-1] + ("A" if key[-1] != "A" else "B"),  # wrong secret
        lambda key: "fa_000000000000_" + key.split("_", 2)[2],  # unknown id
        lambda key: key.split("_", 2)[0] + "_" + key.split("_", 2)[1],  # no secret
        lambda _key: "",
        lambda _key: "nonsense",
    ],
)
def test_wrong_keys_are_refused(store: SqlStore, mangle: object) -> None:
    keys = KeyService(store)
    key = keys.create("x").secret
    with pytest.raises(FaceApiError) as caught:
        keys.authenticate(mangle(key))  # type: ignore[operator]
    assert caught.value.code is ErrorCode.INVALID_API_KEY


def test_revoked_key_stops_working(store: SqlStore) -> None:
    keys = KeyService(store)
    new = keys.create("x")
    assert keys.revoke(new.record.id)
    assert not keys.revoke(new.record.id)  # already revoked
    with pytest.raises(FaceApiError):
        keys.authenticate(new.secret)
    (listed,) = keys.list()
    assert not listed.active


@pytest.mark.parametrize(
    ("name", "complaint"),
    [
        ("   ", "1 to 200 characters"),
        ("x" * 201, "1 to 200 characters"),
        ("\x1b]0;pwned\x07\x1b[31mshop", "control or invisible"),  # rewrites a terminal
        ("shop\u200b", "control or invisible"),  # zero width space
        *[
            (f"sh{invisible}op", "control or invisible")
            for invisible in "\u00ad\u2062\ufff9\u0600\U000e0041\u2028\u2029\ue000"
        ],  # format characters, tags, separators, private use
        *[(blank * 3, "control or invisible") for blank in "\u3164\u115f\uffa0\u2800"],
    ],
)
def test_key_names_are_checked(store: SqlStore, name: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        KeyService(store).create(name)
    persian = "\u062e\u0627\u0646\u0647\u200c\u0627\u0645"  # a zero-width non-joiner is spelling
    for fine in ("Boutique Zoë 🛍", "👨\u200d👩\u200d👧 family", persian):
        assert KeyService(store).create(fine).record.name == fine


def test_usage_is_counted_per_day_endpoint_and_code(store: SqlStore) -> None:
    key = KeyService(store).create("x").record
    usage = UsageService(store, Limits())
    for code in (0, 0, 0, 3001):
        usage.record(key.id, "face_age_detection", code)
    usage.record(key.id, "face_gender_detection", 0)
    rows = {(row.endpoint, row.code): row.count for row in usage.report(date(2000, 1, 1))}
    assert rows == {
        ("face_age_detection", 0): 3,
        ("face_age_detection", 3001): 1,
        ("face_gender_detection", 0): 1,
    }
    (record,) = store.list_keys()
    assert record.last_used_at is not None
    assert record.last_used_at.tzinfo is UTC


def test_rate_limit_admits_a_burst_then_refuses_with_a_wait(store: SqlStore) -> None:
    key = KeyService(store).create("x").record
    now = 1_000_000.0
    admitted = [store.take_rate_token(key.id, now, interval=0.5, burst=3) for _ in range(5)]
    assert admitted[:3] == [None, None, None]
    assert admitted[3] == pytest.approx(0.5)
    assert store.take_rate_token(key.id, now + 0.5, interval=0.5, burst=3) is None


def test_rate_limited_error_carries_retry_after(store: SqlStore) -> None:
    key = KeyService(store).create("x").record
    usage = UsageService(store, Limits(rate_per_second=0.2, burst=1))
    usage.admit(key)
    with pytest.raises(FaceApiError) as caught:
        usage.admit(key)
    assert caught.value.code is ErrorCode.RATE_LIMITED
    assert caught.value.retry_after == 5
    assert "0.2 per second" in caught.value.message


def _hammer(url: str, key_id: str, results: multiprocessing.Queue) -> None:
    store = open_store(url)
    admitted = sum(
        store.take_rate_token(key_id, 5_000_000.0, interval=1.0, burst=50) is None
        for _ in range(40)
    )
    for _ in range(40):
        store.record_request(key_id, "face_age_detection", 0, datetime.now(UTC))
    within_quota = sum(store.take_quota(key_id, "2030-01", quota=70) for _ in range(40))
    results.put((admitted, within_quota))
    store.close()


def test_counts_stay_exact_across_processes(tmp_path: Path) -> None:
    """Several server workers share one database: no request may be lost or admitted twice."""
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    store = open_store(url)
    key = KeyService(store).create("x").record
    results: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_hammer, args=(url, key.id, results)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    counts = [results.get(timeout=5) for _ in workers]
    admitted, within_quota = (sum(column) for column in zip(*counts, strict=True))
    assert admitted == 50  # 160 attempts at one instant, burst of 50
    assert within_quota == 70  # 160 attempts, monthly quota of 70
    (row,) = store.usage(date(2000, 1, 1))
    assert row.count == 160
    store.close()


def test_opening_waits_for_another_process_holding_a_new_database(tmp_path: Path) -> None:
    """A second server process may open the file while the first still holds its write lock:
    opening waits for the lock (pysqlite's busy timeout) instead of failing."""
    path = tmp_path / "new.sqlite3"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    release = threading.Timer(0.5, holder.execute, args=("COMMIT",))
    started = time.monotonic()
    release.start()
    try:
        store = open_store(f"sqlite:///{path}")  # switches to WAL and creates the schema
        assert time.monotonic() - started >= 0.4  # it waited for the lock rather than fail
        KeyService(store).create("x")
        store.close()
    finally:
        release.join()
        holder.close()


def test_database_is_a_plain_sqlite_file(store: SqlStore, tmp_path: Path) -> None:
    KeyService(store).create("x")
    with sqlite3.connect(tmp_path / "faceapi.sqlite3") as db:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
    assert {"accounts", "api_keys", "usage", "rate_limits", "sign_in_throttle"} <= tables


def test_a_database_that_cannot_be_opened_says_why(tmp_path: Path) -> None:
    """One line for the CLI to show: these used to be SQLAlchemy's own errors."""
    for url, reason in [
        ("mysql+pymysql://localhost/x", "use SQLite or PostgreSQL"),
        ("not a url", "not a SQLAlchemy URL"),
        (f"sqlite:///{tmp_path}/missing/db.sqlite3", "No such file or directory"),
    ]:
        with pytest.raises(StoreUnavailableError, match=reason):
            open_store(url)
    (tmp_path / "garbage.sqlite3").write_bytes(b"not sqlite" * 500)
    with pytest.raises(StoreUnavailableError, match=r"garbage\.sqlite3: file is not a database"):
        open_store(f"sqlite:///{tmp_path / 'garbage.sqlite3'}")


def test_the_database_location_is_absolute_and_never_shows_a_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve` logs it: the default SQLite file is relative to the working directory, so
    starting elsewhere looks like every key vanished."""
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///faceapi.sqlite3")
    try:
        assert store.location == str(tmp_path / "faceapi.sqlite3")
    finally:
        store.close()
    postgres = sa.make_url("postgresql://face:s3cret@db.internal:5432/faceapi")
    assert database_location(postgres) == "postgresql://face:***@db.internal:5432/faceapi"


def test_a_database_locked_too_long_is_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worth a retry (the API answers 5002), unlike a broken database."""
    monkeypatch.setattr(sql, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "locked.sqlite3"
    store = open_store(f"sqlite:///{path}")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreBusyError, match="locked by another process"):
            KeyService(store).create("waits")
        holder.execute("ROLLBACK")
        assert KeyService(store).create("after").record.name == "after"
    finally:
        holder.close()
        store.close()


def test_readiness_follows_a_link_to_the_database_and_takes_uri_filenames(
    tmp_path: Path,
) -> None:
    """A deploy that points the link at another file is seen; a `file:` URI still opens."""
    for name in ("a.sqlite3", "b.sqlite3"):
        open_store(f"sqlite:///{tmp_path / name}").close()
    link = tmp_path / "current.sqlite3"
    link.symlink_to(tmp_path / "a.sqlite3")
    store = open_store(f"sqlite:///{link}")
    try:
        store.ping()
        (tmp_path / "next").symlink_to(tmp_path / "b.sqlite3")
        (tmp_path / "next").replace(link)
        with pytest.raises(RuntimeError, match="deleted or replaced"):
            store.ping()
    finally:
        store.close()
    by_uri = open_store(f"sqlite:///file:{tmp_path / 'a.sqlite3'}?uri=true")
    try:
        by_uri.ping()
    finally:
        by_uri.close()


def test_a_backup_holds_the_latest_writes_that_a_copy_of_the_file_misses(
    store: SqlStore, tmp_path: Path
) -> None:
    keys = KeyService(store)
    made = {keys.create(f"key {n}").record.id for n in range(5)}
    # With WAL, committed writes wait in faceapi.sqlite3-wal until a checkpoint: the file
    # alone, as `cp` would take it while the server runs, lacks them (here, every table).
    naive = tmp_path / "copied.sqlite3"
    naive.write_bytes((tmp_path / "faceapi.sqlite3").read_bytes())
    with sqlite3.connect(naive) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master")]
    assert "api_keys" not in tables

    store.backup(tmp_path / "backup.sqlite3")

    assert (tmp_path / "backup.sqlite3").stat().st_mode & 0o777 == 0o600  # it holds hashes
    with sqlite3.connect(tmp_path / "backup.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one whole file
    restored = open_store(f"sqlite:///{tmp_path / 'backup.sqlite3'}")
    assert {record.id for record in KeyService(restored).list()} == made
    restored.close()
    assert sorted(path.name for path in tmp_path.iterdir() if "backup" in path.name) == [
        "backup.sqlite3"
    ]


def test_a_backup_never_overwrites_and_leaves_nothing_behind_when_refused(
    store: SqlStore, tmp_path: Path
) -> None:
    existing = tmp_path / "existing.sqlite3"
    existing.write_bytes(b"an older backup")
    with pytest.raises(StoreUnavailableError, match="exists; name a new file"):
        store.backup(existing)
    assert existing.read_bytes() == b"an older backup"
    with pytest.raises(StoreUnavailableError, match=r"cannot write to .*missing"):
        store.backup(tmp_path / "missing" / "backup.sqlite3")
    memory = open_store("sqlite://")
    with pytest.raises(StoreUnavailableError, match="only a SQLite file can be backed up"):
        memory.backup(tmp_path / "memory.sqlite3")
    memory.close()
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "existing.sqlite3",
        "faceapi.sqlite3",
        "faceapi.sqlite3-shm",
        "faceapi.sqlite3-wal",
    ]


def test_only_create_makes_a_missing_database(tmp_path: Path) -> None:
    """A command run from the wrong folder, with a relative URL, used to make an empty database
    there and carry on with it."""
    absent = tmp_path / "absent.sqlite3"
    for access in (Access.READ, Access.WRITE):
        with pytest.raises(StoreUnavailableError, match=f"there is no database at {absent};"):
            open_store(f"sqlite:///{absent}", access=access)
    assert list(tmp_path.iterdir()) == []
    open_store(f"sqlite:///{absent}", access=Access.CREATE).close()
    assert absent.is_file()


@pytest.mark.parametrize("access", list(Access), ids=lambda access: access.value)
@pytest.mark.parametrize(
    ("schema", "refusal"),
    [
        ("CREATE TABLE customers (id, name)", r"is not a Face API database \(it holds customers\)"),
        (  # a table of ours by name only: every API call used to fail with 5001
            "CREATE TABLE api_keys (id TEXT)",
            r"is not a Face API database this version can use: it lacks the columns "
            r"api_keys\.name, api_keys\.prefix, api_keys\.secret_hash, api_keys\.created_at, "
            r"api_keys\.last_used_at and 5 more; it was left unchanged",
        ),
    ],
    ids=["foreign", "clashing"],
)
def test_a_database_that_is_not_ours_is_refused_and_left_unchanged(
    tmp_path: Path, access: Access, schema: str, refusal: str
) -> None:
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as db:
        db.execute(schema)
    before = other.read_bytes()
    with pytest.raises(StoreUnavailableError, match=f"{other} {refusal}"):
        open_store(f"sqlite:///{other}", access=access)
    assert other.read_bytes() == before  # no tables added, still not in WAL mode
    assert [path.name for path in tmp_path.iterdir()] == ["other.sqlite3"]


def test_an_older_database_of_ours_gets_the_tables_it_lacks(tmp_path: Path) -> None:
    """Tables added since (console sessions, secrets) are made; a table the operator added
    beside ours is no reason to refuse."""
    path = tmp_path / "faceapi.sqlite3"
    open_store(f"sqlite:///{path}").close()
    with closing(sqlite3.connect(path)) as db:
        db.executescript("DROP TABLE console_sessions; DROP TABLE secrets; CREATE TABLE notes (x)")
    store = open_store(f"sqlite:///{path}", access=Access.WRITE)
    assert store.ensure_secret("x", b"1") == b"1"
    store.close()


def test_an_empty_file_is_made_a_database_unless_only_read(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    with pytest.raises(StoreUnavailableError, match="holds no Face API tables yet"):
        open_store(f"sqlite:///{path}", access=Access.READ)
    assert path.read_bytes() == b""
    open_store(f"sqlite:///{path}", access=Access.WRITE).close()
    store = open_store(f"sqlite:///{path}", access=Access.READ)
    assert store.list_keys() == []
    store.close()


def test_a_new_database_is_readable_by_its_owner_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It holds password and key hashes and the session-signing secret: under the usual umask
    022 it used to be made readable by everyone, and its -wal and -shm files with it."""
    previous = os.umask(0o022)
    try:
        store = open_store(f"sqlite:///{tmp_path / 'faceapi.sqlite3'}")
        KeyService(store).create("shop")  # the -wal and -shm files exist while it is open
        modes = {path.name: path.stat().st_mode & 0o777 for path in tmp_path.iterdir()}
        store.close()
        existing = tmp_path / "set-up.sqlite3"
        existing.touch(mode=0o640)  # the operator's choice, e.g. for a group of readers
        open_store(f"sqlite:///{existing}").close()
    finally:
        os.umask(previous)
    assert modes == {
        "faceapi.sqlite3": 0o600,
        "faceapi.sqlite3-wal": 0o600,
        "faceapi.sqlite3-shm": 0o600,
    }
    assert existing.stat().st_mode & 0o777 == 0o640


def test_reading_never_changes_the_file(store: SqlStore, tmp_path: Path) -> None:
    """Read-only access opens the file read-only: a write fails instead of happening."""
    KeyService(store).create("shop")
    reader = open_store(f"sqlite:///{tmp_path / 'faceapi.sqlite3'}", access=Access.READ)
    try:
        assert [key.name for key in reader.list_keys()] == ["shop"]  # written, not yet folded in
        with pytest.raises(sa.exc.OperationalError, match="readonly database"):
            KeyService(reader).create("not written")
    finally:
        reader.close()


def test_writes_resume_at_once_when_a_read_only_database_becomes_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite opens a file it cannot write read-only, and that connection stays so. Here
    connections are opened read-only (query_only) while `read_only` is set."""
    read_only = threading.Event()
    tune = sql._tune_sqlite

    def tune_and_maybe_refuse_writes(connection: Any, record: Any) -> None:
        tune(connection, record)
        connection.execute(f"PRAGMA query_only={int(read_only.is_set())}")

    monkeypatch.setattr(sql, "_tune_sqlite", tune_and_maybe_refuse_writes)
    store = open_store(f"sqlite:///{tmp_path / 'faceapi.sqlite3'}")
    key = KeyService(store).create("shop").record
    store.close()  # every pooled connection gone: the next are opened read-only
    read_only.set()
    when = datetime.now(UTC)
    with pytest.raises(sa.exc.OperationalError, match="readonly database"):
        store.record_request(key.id, "age", 0, when)
    read_only.clear()  # the operator fixes the file's permissions
    for _ in range(3):
        store.record_request(key.id, "age", 0, when)
    assert [row.count for row in store.usage(when.date())] == [3]
    store.close()


def test_a_postgresql_database_may_hold_other_programs_tables() -> None:
    """A SQLite file is one program's; a PostgreSQL database is often shared. There is no
    PostgreSQL server here, so the check that decides is called as open_store calls it."""
    others = {"customers": {"id", "name"}}
    with pytest.raises(StoreUnavailableError, match="is not a Face API database"):
        _check_schema(others, "db.sqlite3", Access.CREATE, whole_file=True)
    _check_schema(others, "postgresql://db/shop", Access.CREATE, whole_file=False)
    clashing = {"api_keys": {"id"}}
    with pytest.raises(StoreUnavailableError, match="lacks the columns api_keys"):
        _check_schema(clashing, "postgresql://db/shop", Access.CREATE, whole_file=False)


def test_a_database_path_that_cannot_be_a_file_is_named_in_one_line(tmp_path: Path) -> None:
    """A folder gave 'disk I/O error', a name too long an OSError traceback."""
    with pytest.raises(StoreUnavailableError, match="is a folder; database_url must name a file"):
        open_store(f"sqlite:///{tmp_path}")
    with pytest.raises(StoreUnavailableError, match="File name too long"):
        open_store(f"sqlite:///{tmp_path / ('a' * 300)}")
