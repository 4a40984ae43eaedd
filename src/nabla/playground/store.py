"""The playground's database: users, sessions, API tokens, saved experiments, uploads (SQLAlchemy Core).

SQLite by default — one file in the user's data folder (``platformdirs``) — or PostgreSQL with a
``postgresql://`` URL; the same tables and queries serve both. Migrations: the ``schema_version``
table holds one number; :data:`MIGRATIONS` lists the steps from 0, and :meth:`Store.migrate` applies
the missing ones in one transaction (on PostgreSQL under an advisory lock, so two servers starting
together do not race). A database newer than this code is refused, never downgraded.

Timestamps are Unix seconds (floats), JSON lives in text columns: plain types every backend has.
Every method is synchronous and short; the app calls them from a thread pool.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Store", "StoreError", "User", "UserExists", "default_db_url",
           "normalize_url"]


class StoreError(RuntimeError):
    """The database cannot be used (unknown URL scheme, schema from a newer version, ...)."""


class UserExists(ValueError):
    """That username is taken."""


@dataclass(frozen=True)
class User:
    id: int
    username: str
    created_at: float

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username}


# ================================================================================ schema


def _schema_v1(md: sa.MetaData) -> dict[str, sa.Table]:
    """The tables as migration 1 creates them (and as the queries below use them: the current schema)."""
    users = sa.Table(
        "users", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    sessions = sa.Table(
        "sessions", md,
        sa.Column("id_hash", sa.String(64), primary_key=True),  # sha256 of the cookie's id, never the id
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False, index=True),
    )
    tokens = sa.Table(
        "api_tokens", md,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float, nullable=True),
        sa.Column("revoked_at", sa.Float, nullable=True),
    )
    experiments = sa.Table(
        "experiments", md,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("metrics", sa.Text, nullable=True),
        sa.Column("epoch", sa.Integer, nullable=False, default=0),
        sa.Column("thumbnail", sa.LargeBinary, nullable=True),
        sa.Column("weights", sa.LargeBinary, nullable=True),
        sa.Column("shared", sa.Boolean, nullable=False, default=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    uploads = sa.Table(
        "uploads", md,
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("kept", sa.Boolean, nullable=False, default=False),  # unused since v2: experiments.upload_id
        sa.Column("created_at", sa.Float, nullable=False),
    )
    settings = sa.Table(
        "settings", md,
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    return {"users": users, "sessions": sessions, "api_tokens": tokens, "experiments": experiments,
            "uploads": uploads, "settings": settings}


def _migrate_v1(conn: Connection) -> None:
    md = sa.MetaData()
    _schema_v1(md)
    md.create_all(conn)


TOKEN_DAYS = 90  # default lifetime of an API token (tokens made before expiry existed get this from migration 2)


def _columns_v2(tables: dict[str, sa.Table]) -> None:
    """The columns migration 2 adds, on the query-side tables."""
    tables["users"].append_column(sa.Column("username_key", sa.String(48), nullable=True, unique=True))
    tables["api_tokens"].append_column(sa.Column("parent_id", sa.Integer, nullable=True, index=True))
    tables["api_tokens"].append_column(sa.Column("expires_at", sa.Float, nullable=True))
    tables["uploads"].append_column(sa.Column("owner", sa.String(80), nullable=True))
    tables["experiments"].append_column(sa.Column("upload_id", sa.String(64), nullable=True, index=True))


def _migrate_v2(conn: Connection) -> None:
    """Case-insensitive usernames, token families and expiry, upload owners, experiments' uploads.

    * ``users.username_key``: the username in lower case, unique, so ``Admin`` and ``admin`` are one
      name. Accounts that already differ only in case keep working: the later ones get the key
      ``name#<id>`` (``#`` cannot occur in a username) and log in by their exact spelling.
    * ``api_tokens.parent_id`` (the token that minted it: revoking a token revokes its descendants)
      and ``expires_at`` (existing tokens get 90 days from now).
    * ``uploads.owner`` ("user:<id>" or "anon:<address>", for upload quotas; NULL for old rows).
    * ``experiments.upload_id`` (filled from the saved configs): the garbage collector keeps an
      upload exactly as long as some experiment refers to it.
    """
    for sql in ("ALTER TABLE users ADD COLUMN username_key VARCHAR(48)",
                "ALTER TABLE api_tokens ADD COLUMN parent_id INTEGER",
                "ALTER TABLE api_tokens ADD COLUMN expires_at FLOAT",
                "ALTER TABLE uploads ADD COLUMN owner VARCHAR(80)",
                "ALTER TABLE experiments ADD COLUMN upload_id VARCHAR(64)"):
        conn.execute(sa.text(sql))
    seen: set[str] = set()
    for uid, name in conn.execute(sa.text("SELECT id, username FROM users ORDER BY id")).all():
        key = name.lower()
        if key in seen:
            key = f"{key}#{uid}"
        seen.add(key)
        conn.execute(sa.text("UPDATE users SET username_key = :k WHERE id = :i"), {"k": key, "i": uid})
    for eid, config in conn.execute(sa.text("SELECT id, config FROM experiments")).all():
        try:
            upload_id = json.loads(config).get("upload_id")
        except (ValueError, AttributeError):
            upload_id = None
        if upload_id:
            conn.execute(sa.text("UPDATE experiments SET upload_id = :u WHERE id = :i"), {"u": upload_id, "i": eid})
    conn.execute(sa.text("UPDATE api_tokens SET expires_at = :t WHERE expires_at IS NULL"),
                 {"t": _now() + TOKEN_DAYS * 86400})
    for sql in ("CREATE UNIQUE INDEX ix_users_username_key ON users (username_key)",
                "CREATE INDEX ix_api_tokens_parent_id ON api_tokens (parent_id)",
                "CREATE INDEX ix_uploads_owner_created ON uploads (owner, created_at)",
                "CREATE INDEX ix_experiments_upload_id ON experiments (upload_id)"):
        conn.execute(sa.text(sql))


MIGRATIONS: list[Callable[[Connection], None]] = [_migrate_v1, _migrate_v2]  # MIGRATIONS[i]: version i to i + 1
SCHEMA_VERSION = len(MIGRATIONS)

_META = sa.MetaData()
T = _schema_v1(_META)
_columns_v2(T)
_VERSION = sa.Table("schema_version", sa.MetaData(), sa.Column("version", sa.Integer, nullable=False))


# ================================================================================ URLs


def default_db_url() -> str:
    """``sqlite:///<user data folder>/nabla/playground.sqlite3`` (the folder is made if missing)."""
    import platformdirs

    folder = platformdirs.user_data_dir("nabla", appauthor=False)
    os.makedirs(folder, exist_ok=True)
    return "sqlite:///" + os.path.join(folder, "playground.sqlite3")


def normalize_url(url: str) -> str:
    """Accept ``postgresql://``/``postgres://`` (driven by psycopg 3), ``sqlite:///path`` or a plain file path."""
    if "://" not in url:
        return "sqlite:///" + os.path.abspath(os.path.expanduser(url))
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        return "postgresql+psycopg://" + rest
    if scheme.startswith("postgresql+") or scheme.startswith("sqlite"):
        return url
    raise StoreError(f"--db: unsupported database URL scheme {scheme!r}; use sqlite:///path/to/file.sqlite3 "
                     "or postgresql://user:password@host/dbname")


def _engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = sa.pool.StaticPool
        engine = sa.create_engine(url, **kwargs)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not memory:
                cur.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


# ================================================================================ the store


def _now() -> float:
    return time.time()


def _user(row: Any) -> User | None:
    return None if row is None else User(row.id, row.username, row.created_at)


class Store:
    """All database access of the playground. ``Store(url)`` connects and migrates."""

    def __init__(self, url: str | None = None, migrate: bool = True) -> None:
        self.url = url or default_db_url()
        self.engine = _engine(self.url)
        self.dialect = self.engine.dialect.name
        if migrate:
            self.migrate()

    def close(self) -> None:
        self.engine.dispose()

    # ---------------------------------------------------------------------------------- migrations

    def schema_version(self) -> int:
        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table("schema_version"):
                return 0
            v = conn.execute(sa.select(_VERSION.c.version)).scalar()
            return int(v or 0)

    def migrate(self, migrations: list[Callable[[Connection], None]] | None = None) -> int:
        """Bring the schema up to date; returns the version now in the database."""
        steps = MIGRATIONS if migrations is None else migrations
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(7271201)"))  # one migrator at a time
            if not sa.inspect(conn).has_table("schema_version"):
                _VERSION.create(conn)
            current = conn.execute(sa.select(_VERSION.c.version)).scalar()
            if current is None:
                conn.execute(_VERSION.insert().values(version=0))
                current = 0
            if current > len(steps):
                raise StoreError(f"the database at {self._safe_url()} has schema version {current}, newer than this "
                                 f"nabla's {len(steps)}; upgrade nabla (a database is never downgraded)")
            for v in range(current, len(steps)):
                steps[v](conn)
                conn.execute(_VERSION.update().values(version=v + 1))
            return len(steps)

    def _safe_url(self) -> str:
        return sa.engine.make_url(normalize_url(self.url)).render_as_string(hide_password=True)

    # ---------------------------------------------------------------------------------- settings

    def secret(self, key: str = "session_secret") -> str:
        """A random secret kept in the database (made on first use): the same across restarts."""
        with self.engine.begin() as conn:
            value = conn.execute(sa.select(T["settings"].c.value).where(T["settings"].c.key == key)).scalar()
            if value is not None:
                return value
        value = secrets.token_hex(32)
        try:
            with self.engine.begin() as conn:
                conn.execute(T["settings"].insert().values(key=key, value=value))
            return value
        except sa.exc.IntegrityError:  # another process made it first
            with self.engine.begin() as conn:
                return conn.execute(sa.select(T["settings"].c.value).where(T["settings"].c.key == key)).scalar_one()

    # ---------------------------------------------------------------------------------- users

    def create_user(self, username: str, password_hash: str) -> User:
        t = T["users"]
        now = _now()
        try:
            with self.engine.begin() as conn:
                row = t.insert().values(username=username, username_key=username.lower(),
                                        password_hash=password_hash, created_at=now)
                uid = conn.execute(row).inserted_primary_key[0]
        except sa.exc.IntegrityError:
            raise UserExists(f"the username {username!r} is taken") from None
        return User(int(uid), username, now)

    def get_user(self, user_id: int) -> User | None:
        t = T["users"]
        with self.engine.connect() as conn:
            return _user(conn.execute(sa.select(t).where(t.c.id == user_id)).first())

    def get_login(self, username: str) -> tuple[User, str] | None:
        """The user called ``username`` (in any case) and its password hash, or None."""
        t = T["users"]
        with self.engine.connect() as conn:
            # the exact name first: accounts from before migration 2 may differ only in case
            row = conn.execute(sa.select(t).where(t.c.username == username)).first()
            if row is None:
                row = conn.execute(sa.select(t).where(t.c.username_key == username.lower())).first()
        return None if row is None else (_user(row), row.password_hash)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(T["users"].update().where(T["users"].c.id == user_id).values(password_hash=password_hash))

    # ---------------------------------------------------------------------------------- sessions

    def load_session(self, id_hash: str) -> tuple[dict, int | None] | None:
        """(data, user id) of a live session, or None (unknown or expired)."""
        t = T["sessions"]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.id_hash == id_hash, t.c.expires_at > _now())).first()
        if row is None:
            return None
        try:
            return json.loads(row.data), row.user_id
        except ValueError:
            return None

    def save_session(self, id_hash: str, data: dict, user_id: int | None, expires_at: float) -> None:
        t = T["sessions"]
        text = json.dumps(data)
        with self.engine.begin() as conn:
            n = conn.execute(t.update().where(t.c.id_hash == id_hash)
                             .values(data=text, user_id=user_id, expires_at=expires_at)).rowcount
            if n == 0:
                conn.execute(t.insert().values(id_hash=id_hash, data=text, user_id=user_id, created_at=_now(),
                                               expires_at=expires_at))

    def delete_session(self, id_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(T["sessions"].delete().where(T["sessions"].c.id_hash == id_hash))

    def delete_user_sessions(self, user_id: int, keep: str | None = None) -> int:
        """Delete every session of ``user_id`` but the one whose id hash is ``keep``; returns how many."""
        t = T["sessions"]
        cond = t.c.user_id == user_id
        if keep is not None:
            cond = sa.and_(cond, t.c.id_hash != keep)
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(cond)).rowcount

    def delete_expired(self, upload_age: float = 86400.0) -> None:
        """Drop expired sessions and tokens' dead weight, and uploads older than ``upload_age`` seconds
        that no saved experiment refers to (deleting the experiment frees its upload too)."""
        now = _now()
        u, e = T["uploads"], T["experiments"]
        with self.engine.begin() as conn:
            conn.execute(T["sessions"].delete().where(T["sessions"].c.expires_at <= now))
            used = sa.select(e.c.upload_id).where(e.c.upload_id.is_not(None))
            conn.execute(u.delete().where(u.c.created_at < now - upload_age, u.c.id.not_in(used)))

    # ---------------------------------------------------------------------------------- API tokens

    def create_token(self, user_id: int, name: str, token_hash: str, prefix: str, parent_id: int | None = None,
                     expires_at: float | None = None) -> dict:
        """A new token row; ``parent_id`` is the token that minted it (revoking that one revokes this)."""
        t = T["api_tokens"]
        now = _now()
        expires_at = expires_at if expires_at is not None else now + TOKEN_DAYS * 86400
        with self.engine.begin() as conn:
            tid = conn.execute(t.insert().values(user_id=user_id, name=name, token_hash=token_hash, prefix=prefix,
                                                 created_at=now, parent_id=parent_id,
                                                 expires_at=expires_at)).inserted_primary_key[0]
        return {"id": int(tid), "name": name, "prefix": prefix, "created_at": now, "last_used_at": None,
                "expires_at": expires_at, "parent_id": parent_id}

    def _live_tokens(self, t: sa.Table) -> Any:
        return sa.and_(t.c.revoked_at.is_(None), sa.or_(t.c.expires_at.is_(None), t.c.expires_at > _now()))

    def list_tokens(self, user_id: int) -> list[dict]:
        t = T["api_tokens"]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(t).where(t.c.user_id == user_id, self._live_tokens(t))
                                .order_by(t.c.id)).all()
        return [{"id": r.id, "name": r.name, "prefix": r.prefix, "created_at": r.created_at,
                 "last_used_at": r.last_used_at, "expires_at": r.expires_at, "parent_id": r.parent_id} for r in rows]

    def count_tokens(self, user_id: int) -> int:
        t = T["api_tokens"]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t)
                                .where(t.c.user_id == user_id, self._live_tokens(t))).scalar_one()

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        """Revoke the token and every token minted from it, transitively; False if it was not live."""
        t = T["api_tokens"]
        now = _now()
        with self.engine.begin() as conn:
            n = conn.execute(t.update().where(t.c.id == token_id, t.c.user_id == user_id, t.c.revoked_at.is_(None))
                             .values(revoked_at=now)).rowcount
            if n != 1:
                return False
            frontier = [token_id]
            while frontier:
                children = conn.execute(sa.select(t.c.id).where(t.c.parent_id.in_(frontier),
                                                               t.c.user_id == user_id)).scalars().all()
                if children:
                    conn.execute(t.update().where(t.c.id.in_(children), t.c.revoked_at.is_(None))
                                 .values(revoked_at=now))
                frontier = children
        return True

    def revoke_all_tokens(self, user_id: int) -> int:
        t = T["api_tokens"]
        with self.engine.begin() as conn:
            return conn.execute(t.update().where(t.c.user_id == user_id, t.c.revoked_at.is_(None))
                                .values(revoked_at=_now())).rowcount

    def token_login(self, token_hash: str) -> tuple[User, int] | None:
        """(user, token id) for a live (not revoked, not expired) token; notes its last use."""
        t, u = T["api_tokens"], T["users"]
        with self.engine.begin() as conn:
            row = conn.execute(sa.select(u, t.c.id.label("token_id")).join(t, t.c.user_id == u.c.id)
                               .where(t.c.token_hash == token_hash, self._live_tokens(t))).first()
            if row is None:
                return None
            conn.execute(t.update().where(t.c.id == row.token_id).values(last_used_at=_now()))
        return _user(row), int(row.token_id)  # type: ignore[return-value]

    def user_for_token(self, token_hash: str) -> User | None:
        found = self.token_login(token_hash)
        return None if found is None else found[0]

    # ---------------------------------------------------------------------------------- experiments

    def create_experiment(self, owner_id: int, name: str, config: dict, metrics: dict | None, epoch: int,
                          thumbnail: bytes | None, weights: bytes | None, shared: bool = False) -> dict:
        t = T["experiments"]
        now = _now()
        eid = secrets.token_urlsafe(12)
        with self.engine.begin() as conn:
            conn.execute(t.insert().values(id=eid, owner_id=owner_id, name=name, config=json.dumps(config),
                                           upload_id=config.get("upload_id"),
                                           metrics=None if metrics is None else json.dumps(metrics), epoch=epoch,
                                           thumbnail=thumbnail, weights=weights, shared=shared, created_at=now,
                                           updated_at=now))
        return self.get_experiment(eid)  # type: ignore[return-value]

    def get_experiment(self, eid: str, with_blobs: bool = False) -> dict | None:
        t = T["experiments"]
        cols = [c for c in t.c if with_blobs or c.name not in ("thumbnail", "weights")]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(*cols, (t.c.thumbnail.is_not(None)).label("has_thumbnail"),
                                         (t.c.weights.is_not(None)).label("has_weights"))
                               .where(t.c.id == eid)).first()
        return None if row is None else _experiment(row)

    def list_experiments(self, owner_id: int) -> list[dict]:
        t = T["experiments"]
        cols = [c for c in t.c if c.name not in ("thumbnail", "weights")]
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(*cols, (t.c.thumbnail.is_not(None)).label("has_thumbnail"),
                                          (t.c.weights.is_not(None)).label("has_weights"))
                                .where(t.c.owner_id == owner_id).order_by(t.c.created_at.desc(), t.c.id)).all()
        return [_experiment(r) for r in rows]

    def count_experiments(self, owner_id: int) -> int:
        t = T["experiments"]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.owner_id == owner_id)).scalar_one()

    def update_experiment(self, eid: str, **values: Any) -> None:
        allowed = {"name", "shared"}
        if not set(values) <= allowed:
            raise ValueError(f"update_experiment: only {sorted(allowed)} can change, got {sorted(values)}")
        with self.engine.begin() as conn:
            conn.execute(T["experiments"].update().where(T["experiments"].c.id == eid)
                         .values(updated_at=_now(), **values))

    def delete_experiment(self, eid: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(T["experiments"].delete().where(T["experiments"].c.id == eid)).rowcount == 1

    # ---------------------------------------------------------------------------------- uploads

    def create_upload(self, data: dict, rows: int, owner: str | None = None) -> str:
        uid = secrets.token_urlsafe(12)
        with self.engine.begin() as conn:
            conn.execute(T["uploads"].insert().values(id=uid, data=json.dumps(data), rows=rows, kept=False,
                                                     created_at=_now(), owner=owner))
        return uid

    def count_uploads(self, owner: str, since: float) -> int:
        """Uploads by ``owner`` made after ``since`` (Unix seconds): the upload quota's count."""
        t = T["uploads"]
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(t)
                                .where(t.c.owner == owner, t.c.created_at > since)).scalar_one()

    def get_upload(self, uid: str) -> dict | None:
        t = T["uploads"]
        with self.engine.connect() as conn:
            text = conn.execute(sa.select(t.c.data).where(t.c.id == uid)).scalar()
        return None if text is None else json.loads(text)


def _experiment(row: Any) -> dict:
    d = dict(row._mapping)
    d["config"] = json.loads(d["config"])
    d["metrics"] = None if d["metrics"] is None else json.loads(d["metrics"])
    d["shared"] = bool(d["shared"])
    d["has_thumbnail"] = bool(d["has_thumbnail"])
    d["has_weights"] = bool(d["has_weights"])
    return d
