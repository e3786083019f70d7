"""Opening an evolab database: refusing what is not one, the connection's settings, migrating forward."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from evolab.errors import (
    DatabaseUnavailable,
    InvalidDatabasePath,
    NotAnEvolabDatabase,
    SchemaTooNew,
    StorageError,
)
from evolab.storage.creature_keys import creature_id, creature_key
from evolab.storage.migrations import APPLICATION_ID, LATEST_VERSION, MIGRATIONS


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection to the evolab database at `path` (created with the latest schema when it does not
    exist), migrated forward.

    Raises:
        InvalidDatabasePath: a folder, or a file in a folder that does not exist.
        NotAnEvolabDatabase: another kind of file, or another application's SQLite database.
        SchemaTooNew: written by a newer evolab.
        DatabaseUnavailable: SQLite cannot open it.
    """
    _refuse_foreign_file(path)
    conn = None
    try:
        # autocommit: every transaction is explicit (BEGIN ... COMMIT in the Store)
        conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.create_function("creature_id", 1, creature_id, deterministic=True)
        conn.create_function("creature_key", 1, creature_key, deterministic=True)
        conn.execute("PRAGMA foreign_keys = ON")
        # new files only: rows are either small or whole-generation blocks (tens of kB), and 4 KiB pages
        # leave the least slack at the end of a block's overflow chain (E1: 108 kB per generation
        # against 111 with 8 KiB and 115 with 16 KiB pages, at the same write time)
        conn.execute("PRAGMA page_size = 4096")
        _migrate(conn, path)
        _use_wal(conn, timeout)
        conn.execute("PRAGMA synchronous = NORMAL")
    except (sqlite3.Error, StorageError) as err:
        if conn is not None:
            conn.close()
        if isinstance(err, StorageError):
            raise
        if "not a database" in str(err):  # SQLITE_NOTADB: SQLite read the header, wrote nothing
            raise NotAnEvolabDatabase(f"{path}: not an evolab database (not an SQLite file)") from None
        raise DatabaseUnavailable(f"{path}: cannot open the database ({err})") from None
    return conn


def _use_wal(conn: sqlite3.Connection, timeout: float) -> None:
    # Switching a file into WAL needs it to itself for a moment, and SQLite answers "locked" at once rather
    # than through the busy handler when another connection is opening it too: wait as the handler would.
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) or time.monotonic() > deadline:
                raise
            time.sleep(0.005)


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    # one statement, so one snapshot: another process may be creating the schema right now
    version, app_id, tables = conn.execute(
        "SELECT (SELECT user_version FROM pragma_user_version), "
        "(SELECT application_id FROM pragma_application_id), "
        "(SELECT count(*) FROM sqlite_master WHERE type = 'table')"
    ).fetchone()
    if app_id != APPLICATION_ID and (tables or version):
        raise NotAnEvolabDatabase(f"{path}: not an evolab database (it holds other tables)")
    if version > LATEST_VERSION:
        raise SchemaTooNew(
            f"{path}: database schema version {version} is newer than this evolab understands "
            f"({LATEST_VERSION}); upgrade evolab",
            hint="pip install --upgrade evolab",
        )
    while version < LATEST_VERSION:
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            # re-read under the lock: another process may have migrated meanwhile
            version = cur.execute("PRAGMA user_version").fetchone()[0]
            if version < LATEST_VERSION:
                MIGRATIONS[version](cur)
                version += 1
                cur.execute(f"PRAGMA user_version = {version}")
                cur.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise


def _refuse_foreign_file(path: Path) -> None:
    """Refuse, before SQLite touches it, a path that cannot hold a database."""
    if not path.exists():
        if not path.parent.exists():
            raise InvalidDatabasePath(f"{path}: its folder does not exist")
        return
    if path.is_dir():
        raise InvalidDatabasePath(f"{path}: is a folder, not a database file")
    # The file's header is left to SQLite: opening and closing the file here would drop every POSIX lock
    # this process holds on it (another Store's read or write lock), which lets other processes overwrite
    # pages under our readers (sqlite.org/howtocorrupt.html, 2.2).
