"""The store on SQLAlchemy Core: SQLite out of the box, or PostgreSQL by URL."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Collection
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from faceapi.storage.base import (
    Access,
    AccountRecord,
    ApiKeyRecord,
    EmailTakenError,
    KeyLimits,
    SessionRecord,
    StoreBusyError,
    StoreUnavailableError,
    UsageRow,
)

# How long a SQLite connection waits for another process's lock before StoreBusyError.
BUSY_TIMEOUT_MS = 10_000
# The databases whose INSERT ... ON CONFLICT we use; open_store refuses others.
_UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("disabled_at", sa.DateTime(timezone=True)),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("prefix", sa.String(40), nullable=False),
    sa.Column("secret_hash", sa.LargeBinary(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_used_at", sa.DateTime(timezone=True)),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
    sa.Column("account_id", sa.String(32), sa.ForeignKey("accounts.id"), index=True),
    # Per-key limits; NULL means the server's default.
    sa.Column("rate_per_second", sa.Float),
    sa.Column("burst", sa.Integer),
    sa.Column("monthly_quota", sa.Integer),
)

usage = sa.Table(
    "usage",
    metadata,
    sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("endpoint", sa.String(64), primary_key=True),
    sa.Column("code", sa.Integer, primary_key=True),
    sa.Column("count", sa.Integer, nullable=False),
)

# Generic cell-rate algorithm: one "theoretical arrival time" per key, updated atomically;
# beside it, the requests counted against the key's quota in `quota_month` ("2025-01").
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("arrival", sa.Float, nullable=False),
    sa.Column("quota_month", sa.String(7)),
    sa.Column("quota_used", sa.Integer, nullable=False, default=0),
)

# The same algorithm for sign-in attempts; a bucket is a hash naming an account or an address.
sign_in_throttle = sa.Table(
    "sign_in_throttle",
    metadata,
    sa.Column("bucket", sa.String(64), primary_key=True),
    sa.Column("arrival", sa.Float, nullable=False),
)

# Console sign-ins. The cookie holds a random session id; only its SHA-256 is kept here, so
# reading the database does not let anyone sign in.
console_sessions = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column(
        "account_id", sa.String(32), sa.ForeignKey("accounts.id"), nullable=False, index=True
    ),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True)),
)

# Random secrets made once and shared by every server process, e.g. the session-signing key.
secrets = sa.Table(
    "secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.LargeBinary(256), nullable=False),
)


class SqlStore:
    def __init__(self, engine: Engine, url: sa.URL) -> None:
        """A store on `engine`, whose tables open_store has checked; `url` is the one the
        operator gave (the engine's may be a read-only form of it)."""
        self._engine = engine
        self._url = url
        self._sqlite_file = _sqlite_file(url)
        self._sqlite_identity = _file_identity(self._sqlite_file)

    def add_key(self, record: ApiKeyRecord) -> None:
        with self._engine.begin() as db:
            _insert_key(db, record)

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        with self._engine.connect() as db:
            row = db.execute(api_keys.select().where(api_keys.c.id == key_id)).first()
        return _key_record(row._mapping) if row else None

    def list_keys(self, account_id: str | None = None) -> list[ApiKeyRecord]:
        query = api_keys.select().order_by(api_keys.c.created_at)
        if account_id is not None:
            query = query.where(api_keys.c.account_id == account_id)
        with self._engine.connect() as db:
            return [_key_record(row._mapping) for row in db.execute(query)]

    def revoke_key(self, key_id: str, when: datetime) -> bool:
        with self._engine.begin() as db:
            return _revoke_key(db, key_id, when)

    def replace_key(self, key_id: str, record: ApiKeyRecord, when: datetime) -> bool:
        with self._engine.begin() as db:
            revoked = _revoke_key(db, key_id, when)
            if revoked:
                _insert_key(db, record)
        return revoked

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> bool:
        with self._engine.begin() as db:
            result = db.execute(
                api_keys.update().where(api_keys.c.id == key_id).values(**_limit_columns(limits))
            )
        return result.rowcount == 1

    def record_request(self, key_id: str, endpoint: str, code: int, when: datetime) -> None:
        with self._engine.begin() as db:
            _increment_usage(db, key_id, when.date(), endpoint, code)
            db.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=when))

    def usage(self, since: date, key_ids: Collection[str] | None = None) -> list[UsageRow]:
        query = usage.select().where(usage.c.day >= since).order_by(usage.c.day)
        if key_ids is not None:
            query = query.where(usage.c.key_id.in_(key_ids))
        with self._engine.connect() as db:
            return [UsageRow(**row._mapping) for row in db.execute(query)]

    def take_rate_token(self, key_id: str, now: float, interval: float, burst: int) -> float | None:
        with self._engine.begin() as db:
            return _take_token(
                db, rate_limits, rate_limits.c.key_id == key_id, now, interval, burst
            )

    def take_quota(self, key_id: str, month: str, quota: int) -> bool:
        used, counted_month = rate_limits.c.quota_used, rate_limits.c.quota_month
        same_month = counted_month == month
        query = rate_limits.update().where(rate_limits.c.key_id == key_id)
        if quota > 0:
            query = query.where(sa.or_(counted_month.is_distinct_from(month), used < quota))
        with self._engine.begin() as db:
            result = db.execute(
                query.values(quota_month=month, quota_used=sa.case((same_month, used + 1), else_=1))
            )
        return result.rowcount == 1

    def quota_used(self, key_id: str, month: str) -> int:
        query = sa.select(rate_limits.c.quota_used).where(
            rate_limits.c.key_id == key_id, rate_limits.c.quota_month == month
        )
        with self._engine.connect() as db:
            return db.execute(query).scalar() or 0

    def add_account(self, record: AccountRecord) -> None:
        try:
            with self._engine.begin() as db:
                db.execute(
                    accounts.insert().values(
                        id=record.id,
                        email=record.email,
                        password_hash=record.password_hash,
                        is_admin=record.is_admin,
                        created_at=record.created_at,
                    )
                )
        except sa.exc.IntegrityError as error:  # ids are random: only the email can clash
            raise EmailTakenError(record.email) from error

    def get_account(self, account_id: str) -> AccountRecord | None:
        return self._one_account(accounts.c.id == account_id)

    def find_account(self, email: str) -> AccountRecord | None:
        return self._one_account(accounts.c.email == email)

    def list_accounts(self) -> list[AccountRecord]:
        with self._engine.connect() as db:
            rows = db.execute(accounts.select().order_by(accounts.c.created_at)).all()
        return [_account_record(row._mapping) for row in rows]

    def set_password_hash(
        self, account_id: str, password_hash: str, *, end_sessions_at: datetime | None = None
    ) -> None:
        with self._engine.begin() as db:
            db.execute(
                accounts.update()
                .where(accounts.c.id == account_id)
                .values(password_hash=password_hash)
            )
            if end_sessions_at is not None:
                _revoke_sessions(db, console_sessions.c.account_id == account_id, end_sessions_at)

    def disable_account(self, account_id: str, when: datetime) -> bool:
        with self._engine.begin() as db:
            disabled = _set_disabled_at(db, account_id, when)
            # In the same transaction: no moment in which a disabled account keeps a session.
            _revoke_sessions(db, console_sessions.c.account_id == account_id, when)
        return disabled

    def enable_account(self, account_id: str) -> bool:
        with self._engine.begin() as db:
            return _set_disabled_at(db, account_id, None)

    def add_session(self, record: SessionRecord) -> None:
        with self._engine.begin() as db:
            db.execute(
                console_sessions.delete().where(console_sessions.c.expires_at < record.created_at)
            )
            db.execute(console_sessions.insert().values(**asdict(record)))

    def get_session(self, id_hash: str) -> SessionRecord | None:
        with self._engine.connect() as db:
            row = db.execute(
                console_sessions.select().where(console_sessions.c.id_hash == id_hash)
            ).first()
        return _session_record(row._mapping) if row else None

    def revoke_session(self, id_hash: str, when: datetime) -> None:
        with self._engine.begin() as db:
            _revoke_sessions(db, console_sessions.c.id_hash == id_hash, when)

    def take_sign_in_token(
        self, bucket: str, now: float, interval: float, burst: int
    ) -> float | None:
        arrival = sign_in_throttle.c.arrival
        with self._engine.begin() as db:
            # A bucket whose arrival time has passed is as good as a new one: drop them all.
            db.execute(sign_in_throttle.delete().where(arrival < now))
            insert = _UPSERT_DIALECTS[db.dialect.name]
            db.execute(
                insert(sign_in_throttle).values(bucket=bucket, arrival=0.0).on_conflict_do_nothing()
            )
            row = sign_in_throttle.c.bucket == bucket
            return _take_token(db, sign_in_throttle, row, now, interval, burst)

    def return_sign_in_token(self, bucket: str, interval: float) -> None:
        # A bucket swept away meanwhile was full anyway: then nothing is left to undo.
        arrival = sign_in_throttle.c.arrival
        with self._engine.begin() as db:
            db.execute(
                sign_in_throttle.update()
                .where(sign_in_throttle.c.bucket == bucket)
                .values(arrival=arrival - interval)
            )

    def ensure_secret(self, name: str, candidate: bytes) -> bytes:
        insert = _UPSERT_DIALECTS[self._engine.dialect.name]
        with self._engine.begin() as db:
            # Several workers may start at once: the first insert wins, the rest read it.
            db.execute(insert(secrets).values(name=name, value=candidate).on_conflict_do_nothing())
            return db.execute(sa.select(secrets.c.value).where(secrets.c.name == name)).scalar_one()

    def _one_account(self, condition: sa.ColumnElement[bool]) -> AccountRecord | None:
        with self._engine.connect() as db:
            row = db.execute(accounts.select().where(condition)).first()
        return _account_record(row._mapping) if row else None

    def ping(self) -> None:
        # A SQLite file deleted or replaced under the server leaves pooled connections on the
        # old file and opens new ones on a new, empty one: half the requests would fail.
        if self._sqlite_identity and _file_identity(self._sqlite_file) != self._sqlite_identity:
            raise RuntimeError(f"{self._sqlite_file} was deleted or replaced; restart")
        with self._engine.connect() as db:
            db.execute(sa.select(api_keys.c.id).limit(1))

    @property
    def location(self) -> str:
        return database_location(self._url)

    @property
    def in_memory(self) -> bool:
        return _in_memory(self._url)

    def backup(self, destination: Path) -> None:
        # Copying the file alone can miss the latest writes: SQLite keeps them in the -wal file
        # until a checkpoint. Its backup API copies every page within one read transaction,
        # which in WAL mode holds up no writer.
        url = self._url
        if url.get_backend_name() != "sqlite" or self.in_memory:
            raise StoreUnavailableError(
                f"only a SQLite file can be backed up this way, not {self.location}; "
                "back up PostgreSQL with pg_dump"
            )
        if destination.exists():
            raise StoreUnavailableError(f"{destination} exists; name a new file")
        try:
            handle, name = tempfile.mkstemp(
                prefix=f".{destination.name}.", suffix=".partial", dir=destination.parent
            )
        except OSError as error:
            raise StoreUnavailableError(
                f"cannot write to {destination.parent}: {error.strerror}"
            ) from error
        os.close(handle)
        partial = Path(name)
        try:
            _copy_sqlite(self._engine, partial)
            os.link(partial, destination)  # whole or not at all, and never over another file
        except FileExistsError as error:
            raise StoreUnavailableError(f"{destination} exists; name a new file") from error
        finally:
            partial.unlink(missing_ok=True)

    def close(self) -> None:
        self._engine.dispose()


def _copy_sqlite(engine: Engine, target_file: Path) -> None:
    """Copy the SQLite database behind `engine` into `target_file` and check the copy."""
    source = engine.raw_connection()
    target = sqlite3.connect(target_file)
    try:
        source.driver_connection.backup(target)
        problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    except sqlite3.Error as error:
        raise StoreUnavailableError(f"the backup failed: {error}") from error
    finally:
        target.close()
        source.close()
    if problems != ["ok"]:
        raise StoreUnavailableError(f"the copy failed its integrity check: {problems[0]}")


def open_store(url: str, *, access: Access = Access.CREATE) -> SqlStore:
    """Open the store at a SQLAlchemy URL, or raise StoreUnavailableError saying why it cannot
    be: a SQLite file that does not exist (unless `access` is CREATE: then it is made, readable
    by its owner only), a read-only one (unless READ), or a database that is not ours or lacks
    columns we need. Until those checks pass nothing is changed; then, unless READ, missing
    tables are made."""
    parsed = _parse_url(url)
    location = database_location(parsed)
    sqlite_file = _sqlite_file(parsed)
    if sqlite_file:
        _prepare_sqlite_file(sqlite_file, access)
    engine = _create_engine(
        _read_only_url(sqlite_file) if sqlite_file and access is Access.READ else parsed
    )
    try:
        _prepare_schema(engine, location, access)
    except Exception as error:
        engine.dispose()
        if isinstance(error, sa.exc.DBAPIError):
            reason = error.orig if error.orig is not None else error
            raise StoreUnavailableError(f"{location}: {reason}") from error
        raise
    return SqlStore(engine, parsed)


def _parse_url(url: str) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as error:  # its text would repeat the URL, password and all
        raise StoreUnavailableError(
            "the database URL is not a SQLAlchemy URL such as sqlite:///faceapi.sqlite3"
        ) from error
    backend = parsed.get_backend_name()
    if backend not in _UPSERT_DIALECTS:
        raise StoreUnavailableError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    return parsed


def _create_engine(url: sa.URL) -> Engine:
    try:
        engine = sa.create_engine(url)
    except ModuleNotFoundError as error:
        raise StoreUnavailableError(
            f"the {url.get_backend_name()} driver {error.name!r} is not installed; for "
            "PostgreSQL: .venv/bin/pip install 'psycopg[binary]'"
        ) from error
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _tune_sqlite)
        sa.event.listen(engine, "handle_error", _sqlite_trouble)
    return engine


def _prepare_sqlite_file(path: Path, access: Access) -> None:
    """Refuse a missing file unless `access` may create it (then make it), and a read-only one
    unless `access` only reads: SQLite would open it read-only and fail at the first write."""
    try:
        exists, is_folder = path.exists(), path.is_dir()
    except OSError as error:  # a name too long, say
        raise StoreUnavailableError(f"cannot use {path}: {error.strerror}") from error
    if is_folder:
        raise StoreUnavailableError(f"{path} is a folder; database_url must name a file")
    if not exists:
        if access is not Access.CREATE:
            raise StoreUnavailableError(
                f"there is no database at {path}; set database_url to the server's (a relative "
                "path starts from the working directory), or make one with faceapi serve, "
                "keys create or users create"
            )
        _create_private_file(path)
    elif access is not Access.READ and not _writable(path):
        raise StoreUnavailableError(
            f"the database {path} is read-only (the file or its folder cannot be written), "
            "and this command writes to it"
        )


def _create_private_file(path: Path) -> None:
    """An empty file only its owner may read, as SQLite's -wal and -shm files then are (they
    take the database's mode): it will hold key and password hashes and the signing secret."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # another process, e.g. a second server worker, made it first
    except OSError as error:
        raise StoreUnavailableError(
            f"cannot create the database {path}: {error.strerror}"
        ) from error


def _writable(path: Path) -> bool:
    """Whether SQLite can write the file: itself, and its folder for the -wal and -shm files."""
    real = path.resolve()
    return os.access(real, os.W_OK) and os.access(real.parent, os.W_OK)


def _read_only_url(path: Path) -> sa.URL:
    """`path` opened read-only. Without a -wal file beside it in a folder that cannot be
    written (a read-only mount or snapshot), SQLite cannot make the WAL index it reads with;
    nothing is writing then (a writer keeps a -wal file), so it is read as immutable."""
    query = {"mode": "ro", "uri": "true"}
    real = path.resolve()
    if not os.access(real.parent, os.W_OK) and not Path(f"{real}-wal").exists():
        query["immutable"] = "1"
    return sa.URL.create("sqlite", database=real.as_uri(), query=query)


def _prepare_schema(engine: Engine, location: str, access: Access) -> None:
    """Check the tables found against ours; unless `access` only reads, make what is missing."""
    with engine.connect() as db:
        inspector = sa.inspect(db)
        found = {
            name: {column["name"] for column in inspector.get_columns(name)}
            for name in inspector.get_table_names()
        }
    _check_schema(found, location, access, whole_file=engine.dialect.name == "sqlite")
    if access is Access.READ:
        return
    if engine.dialect.name == "sqlite":
        # Readers proceed while a writer commits. Kept in the file, so set once, and only now
        # that the file is known to be ours.
        with engine.connect() as db:
            db.exec_driver_sql("PRAGMA journal_mode=WAL")
    _create_schema(engine)


def _check_schema(
    found: dict[str, set[str]], location: str, access: Access, *, whole_file: bool
) -> None:
    """Refuse a database whose tables of ours lack columns we use, and a SQLite file (a
    `whole_file`) that is another program's (its tables, no api_keys); nothing is added to
    either. A PostgreSQL database may be shared with other programs' tables."""
    ours = metadata.tables
    others = sorted(found.keys() - ours.keys())
    if whole_file and others and "api_keys" not in found:
        raise StoreUnavailableError(
            f"{location} is not a Face API database (it holds {_some(others)}); it was left "
            "unchanged: set database_url to the Face API's database, or to a new file"
        )
    lacking = [
        f"{name}.{column.name}"
        for name in sorted(found.keys() & ours.keys())
        for column in ours[name].columns
        if column.name not in found[name]
    ]
    if lacking:
        raise StoreUnavailableError(
            f"{location} is not a Face API database this version can use: it lacks the columns "
            f"{_some(lacking)}; it was left unchanged"
        )
    if access is Access.READ and "api_keys" not in found:
        raise StoreUnavailableError(
            f"{location} holds no Face API tables yet; faceapi serve, keys create or users "
            "create makes them"
        )


def _some(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def _create_schema(engine: Engine, attempts: int = 3) -> None:
    """Create missing tables. Another process (a second server worker) may be creating them
    at the same moment: its "already exists" means the work is done, so look again."""
    for attempt in range(attempts):
        try:
            metadata.create_all(engine)
            return
        except (sa.exc.OperationalError, sa.exc.ProgrammingError):
            if attempt == attempts - 1:
                raise


def _sqlite_trouble(context: sa.engine.ExceptionContext) -> None:
    """Still locked once busy_timeout has passed: busy, which is worth a retry, not broken.

    A connection opened while the file could not be written stays read-only for good, even
    once the file can be: drop every pooled connection, so that new ones are opened then.
    """
    reason = str(context.original_exception)
    if "database is locked" in reason:
        raise StoreBusyError("the database stayed locked by another process") from (
            context.original_exception
        )
    if "readonly database" in reason:
        context.is_disconnect = True  # the pool is emptied, as after a lost connection


def database_location(url: sa.URL) -> str:
    """A SQLite file's absolute path (a relative one depends on the working directory), else
    the URL with its password masked."""
    sqlite_file = _sqlite_file(url)
    return str(sqlite_file) if sqlite_file else url.render_as_string(hide_password=True)


def without_password(url: str) -> str:
    """A database URL fit to print, its password masked."""
    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url  # not a URL at all; open_store refuses it


def _sqlite_file(url: sa.URL) -> Path | None:
    """The SQLite file a URL names, links not followed: SQLite opens each connection through
    them. None for memory, and for a `file:` URI, whose path SQLite parses itself."""
    database = url.database or ""
    if url.get_backend_name() != "sqlite" or _in_memory(url):
        return None
    return None if database.startswith("file:") else Path(database).absolute()


def _in_memory(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _file_identity(path: Path | None) -> tuple[int, int] | None:
    """The device and inode of the file at `path` now, through links; None if there is none."""
    try:
        found = path.stat() if path else None
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if found else None


def _tune_sqlite(connection: Any, _record: Any) -> None:
    # The timeout makes concurrent writers from several server processes wait their turn
    # instead of failing.
    cursor = connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable enough, one fsync fewer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _take_token(
    db: Connection,
    table: sa.Table,
    row: sa.ColumnElement[bool],
    now: float,
    interval: float,
    burst: int,
) -> float | None:
    """One GCRA step on the `arrival` of `row`, as a single conditional UPDATE."""
    tolerance = interval * (burst - 1)
    arrival = table.c.arrival
    admitted = db.execute(
        table.update()
        .where(row, arrival - now <= tolerance)
        .values(arrival=sa.case((arrival > now, arrival), else_=now) + interval)
    ).rowcount
    if admitted:
        return None
    current = db.execute(sa.select(arrival).where(row)).scalar_one()
    return max(0.0, current - now - tolerance)


def _insert_key(db: Connection, record: ApiKeyRecord) -> None:
    db.execute(
        api_keys.insert().values(
            id=record.id,
            name=record.name,
            prefix=record.prefix,
            secret_hash=record.secret_hash,
            created_at=record.created_at,
            account_id=record.account_id,
            **_limit_columns(record.limits),
        )
    )
    db.execute(rate_limits.insert().values(key_id=record.id, arrival=0.0))


def _revoke_key(db: Connection, key_id: str, when: datetime) -> bool:
    """Revoke the key if it is active; only one of several callers at once can."""
    result = db.execute(
        api_keys.update()
        .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=when)
    )
    return result.rowcount == 1


def _set_disabled_at(db: Connection, account_id: str, when: datetime | None) -> bool:
    """Disable the account at `when`, or enable it with None; False if it already was so."""
    disabled_at = accounts.c.disabled_at
    not_yet = disabled_at.is_(None) if when is not None else disabled_at.is_not(None)
    result = db.execute(
        accounts.update().where(accounts.c.id == account_id, not_yet).values(disabled_at=when)
    )
    return result.rowcount == 1


def _revoke_sessions(db: Connection, which: sa.ColumnElement[bool], when: datetime) -> None:
    db.execute(
        console_sessions.update()
        .where(which, console_sessions.c.revoked_at.is_(None))
        .values(revoked_at=when)
    )


def _increment_usage(db: Connection, key_id: str, day: date, endpoint: str, code: int) -> None:
    """One atomic upsert, so concurrent server processes never lose or double a count."""
    insert = _UPSERT_DIALECTS[db.dialect.name]
    statement = insert(usage).values(key_id=key_id, day=day, endpoint=endpoint, code=code, count=1)
    db.execute(
        statement.on_conflict_do_update(
            index_elements=[usage.c.key_id, usage.c.day, usage.c.endpoint, usage.c.code],
            set_={"count": usage.c.count + 1},
        )
    )


def _key_record(row: Any) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row["id"],
        name=row["name"],
        prefix=row["prefix"],
        secret_hash=row["secret_hash"],
        created_at=_aware(row["created_at"]),
        last_used_at=_aware(row["last_used_at"]),
        revoked_at=_aware(row["revoked_at"]),
        account_id=row["account_id"],
        limits=KeyLimits(row["rate_per_second"], row["burst"], row["monthly_quota"]),
    )


def _limit_columns(limits: KeyLimits) -> dict[str, Any]:
    return {
        "rate_per_second": limits.rate_per_second,
        "burst": limits.burst,
        "monthly_quota": limits.monthly_quota,
    }


def _account_record(row: Any) -> AccountRecord:
    return AccountRecord(
        id=row["id"],
        email=row["email"],
        password_hash=row["password_hash"],
        is_admin=row["is_admin"],
        created_at=_aware(row["created_at"]),
        disabled_at=_aware(row["disabled_at"]),
    )


def _session_record(row: Any) -> SessionRecord:
    return SessionRecord(
        id_hash=row["id_hash"],
        account_id=row["account_id"],
        created_at=_aware(row["created_at"]),
        expires_at=_aware(row["expires_at"]),
        revoked_at=_aware(row["revoked_at"]),
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
