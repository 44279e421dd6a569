"""The store on SQLAlchemy Core: SQLite out of the box, any SQLAlchemy database by URL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from faceapi.storage.base import ApiKeyRecord, UsageRow

# The databases whose INSERT ... ON CONFLICT we use; open_store refuses others.
_UPSERT_DIALECTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

metadata = sa.MetaData()

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

# Generic cell-rate algorithm: one "theoretical arrival time" per key, updated atomically.
rate_limits = sa.Table(
    "rate_limits",
    metadata,
    sa.Column("key_id", sa.String(32), sa.ForeignKey("api_keys.id"), primary_key=True),
    sa.Column("arrival", sa.Float, nullable=False),
)


class SqlStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        metadata.create_all(engine)

    def add_key(self, record: ApiKeyRecord) -> None:
        with self._engine.begin() as db:
            db.execute(
                api_keys.insert().values(
                    id=record.id,
                    name=record.name,
                    prefix=record.prefix,
                    secret_hash=record.secret_hash,
                    created_at=record.created_at,
                )
            )
            db.execute(rate_limits.insert().values(key_id=record.id, arrival=0.0))

    def get_key(self, key_id: str) -> ApiKeyRecord | None:
        with self._engine.connect() as db:
            row = db.execute(api_keys.select().where(api_keys.c.id == key_id)).first()
        return _key_record(row._mapping) if row else None

    def list_keys(self) -> list[ApiKeyRecord]:
        with self._engine.connect() as db:
            rows = db.execute(api_keys.select().order_by(api_keys.c.created_at)).all()
        return [_key_record(row._mapping) for row in rows]

    def revoke_key(self, key_id: str, when: datetime) -> bool:
        with self._engine.begin() as db:
            result = db.execute(
                api_keys.update()
                .where(api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=when)
            )
        return result.rowcount == 1

    def record_request(self, key_id: str, endpoint: str, code: int, when: datetime) -> None:
        with self._engine.begin() as db:
            _increment_usage(db, key_id, when.date(), endpoint, code)
            db.execute(api_keys.update().where(api_keys.c.id == key_id).values(last_used_at=when))

    def usage(self, since: date, key_id: str | None = None) -> list[UsageRow]:
        query = usage.select().where(usage.c.day >= since).order_by(usage.c.day)
        if key_id is not None:
            query = query.where(usage.c.key_id == key_id)
        with self._engine.connect() as db:
            return [UsageRow(**row._mapping) for row in db.execute(query)]

    def take_rate_token(self, key_id: str, now: float, interval: float, burst: int) -> float | None:
        tolerance = interval * (burst - 1)
        arrival = rate_limits.c.arrival
        with self._engine.begin() as db:
            admitted = db.execute(
                rate_limits.update()
                .where(rate_limits.c.key_id == key_id, arrival - now <= tolerance)
                .values(arrival=sa.case((arrival > now, arrival), else_=now) + interval)
            ).rowcount
            if admitted:
                return None
            current = db.execute(
                sa.select(arrival).where(rate_limits.c.key_id == key_id)
            ).scalar_one()
        return max(0.0, current - now - tolerance)

    def ping(self) -> None:
        with self._engine.connect() as db:
            db.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        self._engine.dispose()


def open_store(url: str) -> SqlStore:
    """Open (and create if needed) the store at a SQLAlchemy URL."""
    backend = sa.make_url(url).get_backend_name()
    if backend not in _UPSERT_DIALECTS:
        raise ValueError(f"unsupported database {backend!r}: use SQLite or PostgreSQL")
    engine = sa.create_engine(url)
    if backend == "sqlite":
        sa.event.listen(engine, "connect", _tune_sqlite)
    return SqlStore(engine)


def _tune_sqlite(connection: Any, _record: Any) -> None:
    # WAL lets readers proceed while a writer commits; the timeout makes concurrent writers
    # from several server processes wait their turn instead of failing.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")  # with WAL: durable enough, one fsync fewer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


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
    )


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)
