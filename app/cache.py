"""The cache folder every server process shares: self-healing diskcaches, a cross-process lock, memoisation.

Layout of ``cache_dir``::

    data/       never evicted: prepared datasets, their image registry and preparation status
    results/    bounded: matches and memoised small results, large ones evicted first (see evict_results)
    callbacks/  Dash's background-callback manager (see :mod:`detlens.app.jobs`)
    pixels/     pixel-metric cache of :func:`detlens.core.metrics.tables.compute_metric_tables`
    thumbs/     Explorer thumbnails (see :mod:`detlens.app.images`)
    sources/    what each data source is, so any server process can prepare it again
    demo/       the embedded demo data set, written once
    open.lock   held while a diskcache folder is opened or healed

Keys are never written by hand: :func:`cache_key` derives each from an
:class:`Entry` (what is stored), the parameters it depends on (frozen
dataclasses or plain values) and :data:`CODE_VERSION`, as Dash's ``cache_by``
does, so a new release never reads an entry of an older shape.

Every diskcache folder is opened here (:meth:`SharedCache.folder`) as a
:class:`HealingCache`: an entry that cannot be read (a missing, truncated or
garbled value file) reads as missing and is deleted; a damaged SQLite database
is moved aside as ``<folder>.damaged-<time>`` and a new one started; either
way one warning is logged and the value is computed again.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import enum
import errno
import fcntl
import hashlib
import io
import json
import logging
import os
import pickle
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import diskcache

from detlens.app.mapped_values import NOT_MAPPED, pickle_out_of_band, read_mapped, write_mapped

CODE_VERSION = 7  # bump when what is stored changes shape
MISSING = object()  # a ``get`` default that no stored value equals
PICKLE_START = pickle.PROTO + bytes([5])  # every pickle the cache writes to a file (protocol 5, diskcache's too)
LARGE_RESULT_BYTES = 1 << 20  # results this large are evicted before any smaller one
DB_NAME = "cache.db"  # diskcache's SQLite database in each folder
DAMAGED = ".damaged-"  # a damaged folder is renamed to <folder>.damaged-<time>
NOT_WRITABLE = (errno.EACCES, errno.EPERM, errno.EROFS)
LOG = logging.getLogger("detlens.cache")


class Entry(enum.StrEnum):
    """What a cache entry holds (the first part of its key)."""

    STATUS = "status"  # preparation status of a data source
    LOCK = "lock"
    IMAGES = "images"  # the image registry the image routes read
    DATASET = "dataset"
    LOADED = "loaded"  # a dataset `detlens serve` loaded to check its files, handed to the preparation
    CANDIDATES = "candidates"
    OTHER_CLASS = "other_class"
    ORDERS = "orders"
    MATCHING_BASIS = "matching_basis"  # what a match of the default rule shares at every IoU threshold
    TABLES = "tables"
    SHARED_METRICS = "shared_metrics"  # metrics of a dataset's images and labels, shared by its runs
    WARMED = "warmed"  # every IoU slider value pre-computed
    SUMMARY = "summary"
    MATCH = "match"
    EVALUATION = "evaluation"
    RANKING = "ranking"
    BUCKETS = "buckets"
    OBJECTS = "objects"
    EXTENT = "extent"
    EXPLORER_VIEW = "explorer_view"
    OBJECTS_BY_IMAGE = "objects_by_image"


def _plain(value):
    """A JSON-ready form of a key part: frozen dataclasses as dicts, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **{k: _plain(v) for k, v in dataclasses.asdict(value).items()}}
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def cache_key(entry: Entry, *params) -> str:
    """``"<entry>/<digest>"``: the key of ``entry`` for these parameters under :data:`CODE_VERSION`.

    Args:
        entry: what is stored.
        params: what it depends on: frozen dataclasses, strings, numbers, None, tuples of these.
    """
    doc = json.dumps([CODE_VERSION, _plain(list(params))], sort_keys=True, default=str)
    return f"{entry}/{hashlib.sha256(doc.encode()).hexdigest()[:24]}"


class CacheNotWritable(OSError):
    """The cache folder cannot be written (read-only file system or permissions)."""

    @classmethod
    def at_start(cls, folder: Path, exc: BaseException) -> "CacheNotWritable":
        """The start-up error: one line naming ``folder`` (shown in the terminal only)."""
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "read-only database"
        return cls(f"the cache folder {folder} is not writable ({reason}): make it writable or choose another "
                   "cache folder")

    @classmethod
    def while_running(cls) -> "CacheNotWritable":
        """The error callbacks show: no server path in it."""
        return cls("The server's cache folder has become read-only, so results cannot be stored: make it "
                   "writable again.")


class ComputationNeeded(BaseException):
    """Raised by :meth:`SharedCache.memo` for a result not cached, while :func:`answering_from_cache`.

    A ``BaseException``: a callback's own error handling (``except Exception``, which turns errors into a
    warning on the page) lets it through to whoever asked for a cached answer only.
    """


_FROM_CACHE_ONLY = contextvars.ContextVar("detlens_from_cache_only", default=False)


@contextlib.contextmanager
def answering_from_cache() -> Iterator[None]:
    """Within this block (this thread or task), :meth:`SharedCache.memo` of a result not cached raises
    :class:`ComputationNeeded` instead of computing it."""
    token = _FROM_CACHE_ONLY.set(True)
    try:
        yield
    finally:
        _FROM_CACHE_ONLY.reset(token)


LOWEST_PRIORITY = 19  # niceness of the thread storing a job's values after its answer
# (cache, value) by key: values a background job memoised to store after its answer (see storing_after_answer)
_STORE_AFTER_ANSWER: contextvars.ContextVar[dict | None] = contextvars.ContextVar("detlens_store_after_answer",
                                                                                 default=None)


@contextlib.contextmanager
def storing_after_answer() -> Iterator[None]:
    """Within this block (a background job), a value memoised with ``store_after_answer`` is computed at once and
    stored when the block ends, after the job's answer (:meth:`SharedCache.memo`).

    For values that take about as long to write as to compute: a match at 5M predictions takes 0.3 s to
    compute and 0.3 s to write (130 MB). An IoU step's two jobs both need the new threshold's match; one
    computing and writing it while the other waited put the write on the path of both answers.

    The values are written by a thread of the lowest priority (:func:`store_pending`), once no job computes
    on the host (:attr:`SharedCache.wait_before_storing`): writing 130 MB also keeps the kernel's writeback
    busy, and during the page's other job it slowed that job by up to 0.4 s. Storing skips a value another
    process has stored or is storing by then.
    """
    pending: dict = {}
    token = _STORE_AFTER_ANSWER.set(pending)
    try:
        yield
    finally:
        _STORE_AFTER_ANSWER.reset(token)
        if pending:
            threading.Thread(target=store_pending, args=(pending, LOWEST_PRIORITY), daemon=True,
                             name="detlens-store-after-answer").start()


def store_pending(pending: dict, niceness: int = 0) -> None:
    """Store ``{key: (cache, value)}`` (:meth:`SharedCache.store_unless_there`), this thread at ``niceness``.

    On Linux a thread's id is a process id to ``setpriority``: only this thread is lowered (a thread cannot
    raise its priority back, so a thread of its own does the storing).
    """
    if niceness:
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    for cache in {id(cache): cache for cache, _ in pending.values()}.values():
        cache.wait_before_storing()
    for key, (cache, value) in pending.items():
        cache.store_unless_there(key, value)


class UnreadableValue(Exception):
    """A stored value that cannot be read back: its file is missing or short, or it does not unpickle."""

    def __init__(self, filename: str | None, reason: str, missing_file: bool):
        super().__init__(reason)
        self.filename, self.missing_file = filename, missing_file


class CheckedDisk(diskcache.Disk):
    """diskcache's serialisation, with large arrays read by mapping their file (:mod:`detlens.app.mapped_values`),
    reporting an unreadable value instead of answering "missing" or raising whatever unpickling a damaged
    file raises."""

    def store(self, value, read, key=diskcache.core.UNKNOWN):
        """``(size, mode, filename, db value)`` of ``value`` (see :meth:`diskcache.Disk.store`): a value with
        large contiguous buffers goes to a file :func:`~detlens.app.mapped_values.read_mapped` maps."""
        if read or type(value) in (str, bytes, int, float):
            return super().store(value, read, key)
        data, views = pickle_out_of_band(value)
        if views is None:  # an ordinary value: stored as diskcache would, from the pickle already made
            if len(data) < self.min_file_size:
                return 0, diskcache.core.MODE_PICKLE, None, sqlite3.Binary(data)
            filename, full_path = self.filename(key, value)
            self._write(full_path, io.BytesIO(data), "xb")
            return len(data), diskcache.core.MODE_PICKLE, filename, None
        filename, full_path = self.filename(key, value)
        os.makedirs(os.path.dirname(full_path), exist_ok=True)
        return write_mapped(full_path, data, views), diskcache.core.MODE_PICKLE, filename, None

    def fetch(self, mode, filename, value, read):
        """The stored value (see :meth:`diskcache.Disk.fetch`); raises :class:`UnreadableValue`."""
        try:
            if mode == diskcache.core.MODE_PICKLE and value is None and filename:
                with open(os.path.join(self._directory, filename), "rb") as f:  # opened once, either format
                    mapped = read_mapped(f)
                    return mapped if mapped is not NOT_MAPPED else self._whole_pickle(f)
            return super().fetch(mode, filename, value, read)
        except OSError as exc:
            raise UnreadableValue(filename, f"its value file is missing or unreadable ({exc.strerror})",
                                  missing_file=True) from exc
        except Exception as exc:  # truncated or garbled pickle: UnpicklingError, EOFError, ValueError, ...
            raise UnreadableValue(filename, f"its value does not unpickle ({type(exc).__name__})",
                                  missing_file=False) from exc

    @staticmethod
    def _whole_pickle(f):
        """The pickle filling the open file ``f``: it starts as the cache writes pickles (protocol 5) and ends
        at the file's end, so bytes that happen to unpickle (garbage can: ``]`` then ``.`` is a list) are
        refused (:class:`ValueError`) rather than served."""
        if f.read(len(PICKLE_START)) != PICKLE_START:
            raise ValueError("it does not start as a pickle of this cache")
        f.seek(0)
        value = pickle.load(f)
        if f.read(1):
            raise ValueError("bytes follow the end of its pickle")
        return value


def not_writable(exc: BaseException | None) -> bool:
    """True when ``exc`` (or the error it replaced) says the cache cannot be written."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in NOT_WRITABLE:
            return True
        if isinstance(exc, sqlite3.Error) and any(s in str(exc) for s in ("readonly", "read-only")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def writable(folder: Path) -> bool:
    """True when files can be created in ``folder`` (an existing folder) right now."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            return True
    except OSError as exc:
        if exc.errno in NOT_WRITABLE:
            return False
        raise


@contextlib.contextmanager
def folder_lock(lock_file: Path) -> Iterator[None]:
    """Hold ``lock_file`` exclusively (``flock``): one process at a time opens or heals a folder."""
    try:
        fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:  # a read-only cache can still be locked when the file exists
        fd = os.open(lock_file, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class HealingCache(diskcache.Cache):
    """A :class:`diskcache.Cache` (so Dash's manager takes it) that repairs itself instead of failing.

    * Opening checks the database (``PRAGMA quick_check``); a damaged one, or
      value files left without their database, is moved aside and a new one started.
    * Every operation first notices when another process has moved the database
      aside (the file at its path changed) and reopens; an operation that fails on a
      damaged database moves it aside, reopens and runs once more.
    * ``get`` of an entry whose value cannot be read returns the default and deletes the entry.
    * Writes on a read-only folder raise :class:`CacheNotWritable`, or with
      ``ignore_read_only`` are skipped (Dash's manager must never fail a request).

    SQLite's memory-mapped reads are off: a database file truncated under a mapping kills
    the process (SIGBUS) instead of raising an error (a damaged database is a case
    this class heals). Value files with large arrays are mapped
    (:mod:`detlens.app.mapped_values`): they are written once and only ever deleted.

    Args:
        directory: the folder.
        lock_file: the cross-process lock held while opening or healing.
        ignore_read_only: skip writes that fail because the folder is read-only (one warning).
        settings: diskcache settings (``size_limit``, ``eviction_policy``, ...).
    """

    def __init__(self, directory: str | Path, lock_file: Path, ignore_read_only: bool = False, **settings):
        self._path = Path(directory)
        self._lock_file = lock_file
        self._ignore_read_only = ignore_read_only
        self._settings = {**settings, "sqlite_mmap_size": 0}
        self._reopening = threading.RLock()
        self._warned_read_only = False
        self._open()

    # ----- opening and healing -----------------------------------------------------------------------
    def _start(self) -> None:
        diskcache.Cache.__init__(self, str(self._path), disk=CheckedDisk, **self._settings)

    def _open(self) -> None:
        """Open the folder, moving it aside first when its database is damaged or missing beside value files.

        Raises:
            CacheNotWritable: the folder cannot be written (naming it).
        """
        db = self._path / DB_NAME
        try:
            with folder_lock(self._lock_file):
                if self._path.is_dir() and not (db.is_file() and db.stat().st_size):
                    # diskcache writes its database as soon as it makes the folder: it was deleted or emptied
                    self._move_aside(f"its database {DB_NAME} is missing")
                try:
                    self._start()
                    problem = self._problem()
                except sqlite3.DatabaseError as exc:
                    if not_writable(exc):
                        raise CacheNotWritable.at_start(self._path, exc) from exc
                    problem = str(exc)
                if problem:
                    self._move_aside(f"its database is damaged ({problem})")
                    self._start()
                if not writable(self._path):
                    raise PermissionError(errno.EACCES, "Permission denied")
                self._opened = _identity(db)
        except OSError as exc:
            if isinstance(exc, CacheNotWritable) or exc.errno not in NOT_WRITABLE:
                raise
            raise CacheNotWritable.at_start(self._path, exc) from exc

    def _problem(self) -> str | None:
        """What is wrong with the open database, or None."""
        rows = self._sql("PRAGMA quick_check").fetchall()
        return None if rows == [("ok",)] else "; ".join(str(r[0]) for r in rows[:3])

    def _move_aside(self, reason: str) -> None:
        """Rename the folder to ``<folder>.damaged-<time>`` (with its value files) and log one warning.

        A folder holding nothing else than an empty database is removed instead.
        """
        with contextlib.suppress(Exception):
            diskcache.Cache.close(self)
        if self._path.is_dir() and all(p.name == DB_NAME and not p.stat().st_size for p in self._path.iterdir()):
            (self._path / DB_NAME).unlink(missing_ok=True)
            self._path.rmdir()
            LOG.warning("cache: %s was started anew because %s; its contents will be computed again", self._path,
                        reason)
            return
        aside = self._path.with_name(f"{self._path.name}{DAMAGED}{time.strftime('%Y%m%d-%H%M%S')}")
        n = 1
        while aside.exists():
            n += 1
            aside = aside.with_name(f"{aside.name.split('~')[0]}~{n}")
        self._path.rename(aside)
        LOG.warning("cache: %s was moved aside to %s because %s; a new one was started and its contents "
                    "will be computed again", self._path, aside.name, reason)

    def _reopen(self, damaged: BaseException | None = None) -> None:
        """Reopen the folder; with ``damaged``, first move it aside if it is still the damaged database."""
        with self._reopening:
            with contextlib.suppress(Exception):
                diskcache.Cache.close(self)
            if damaged is not None:
                with folder_lock(self._lock_file):
                    if _identity(self._path / DB_NAME) == self._opened and self._confirm_damage():
                        self._move_aside(f"its database is damaged ({damaged})")
            try:
                self._open()
            except CacheNotWritable as exc:  # became read-only while running: no server path for the page
                raise CacheNotWritable.while_running() from exc

    def _confirm_damage(self) -> bool:
        """True when a fresh connection also finds the database damaged (not merely busy)."""
        try:
            con = sqlite3.connect(self._path / DB_NAME, timeout=5)
            try:
                rows = con.execute("PRAGMA quick_check").fetchall()
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                con.close()
        except sqlite3.OperationalError as exc:
            return "locked" not in str(exc) and "busy" not in str(exc)
        except sqlite3.DatabaseError:
            return True
        return rows != [("ok",)] or not {"Cache", "Settings"} <= tables

    def guard(self, call: Callable[[], object]):
        """``call()`` on a healthy database: reopened when replaced, healed and run again when damaged."""
        if self._txn_id is not None:  # inside a transaction: nothing can be reopened safely
            return call()
        if _identity(self._path / DB_NAME) != self._opened:
            self._reopen()
        try:
            return call()
        except sqlite3.DatabaseError as exc:
            if not_writable(exc) or "locked" in str(exc) or "busy" in str(exc):
                raise
            self._reopen(damaged=exc)
            return call()

    # ----- reads --------------------------------------------------------------------------------------
    def get(self, key, default=None, read=False, expire_time=False, tag=False, retry=False):
        """The stored value, or ``default`` when missing or unreadable (an unreadable entry is deleted)."""
        try:
            return self.guard(lambda: diskcache.Cache.get(self, key, default, read, expire_time, tag, retry))
        except UnreadableValue as exc:
            if exc.missing_file and not self._stored(exc.filename):
                pass  # deleted by another process between the lookup and the read: simply missing
            else:
                self._discard(key, str(exc))
        return (default, None, None) if expire_time and tag else (default, None) if expire_time or tag else default

    def __contains__(self, key) -> bool:
        """True when ``key`` is stored and its value file (if any) is there at its full size.

        A value file that is missing or short is found here without reading the
        value; the entry is deleted as in :meth:`get`.
        """
        db_key, raw = self._disk.put(key)
        rows = self.guard(lambda: self._sql(
            "SELECT filename, size FROM Cache WHERE key = ? AND raw = ? AND (expire_time IS NULL OR expire_time > ?)",
            (db_key, raw, time.time())).fetchall())
        if not rows:
            return False
        filename, size = rows[0]
        if filename is None:
            return True
        try:
            found = os.path.getsize(self._path / filename)
        except OSError:
            found = None
        if found == size:
            return True
        if self._stored(filename):
            self._discard(key, "its value file is missing" if found is None else
                          f"its value file is truncated ({found:,} of {size:,} bytes)")
        return False

    def _stored(self, filename: str | None) -> bool:
        return bool(self.guard(lambda: self._sql("SELECT 1 FROM Cache WHERE filename = ?", (filename,)).fetchall()))

    def _discard(self, key, reason: str) -> None:
        LOG.warning("cache: discarded the entry %s of %s because %s; it will be computed again", key, self._path,
                    reason)
        with contextlib.suppress(CacheNotWritable):
            self.delete(key)

    # ----- writes -------------------------------------------------------------------------------------
    def _write(self, call: Callable[[], object], skipped):
        try:
            return self.guard(call)
        except (sqlite3.Error, diskcache.Timeout, OSError) as exc:
            if not (not_writable(exc) or self._read_only_now()):
                raise
            if not self._warned_read_only:
                self._warned_read_only = True
                LOG.warning("cache: %s is read-only (%s); results are not stored until it is writable again",
                            self._path, exc)
            if self._ignore_read_only:
                return skipped
            raise CacheNotWritable.while_running() from exc

    def _read_only_now(self) -> bool:
        """True when the folder cannot be written (a failed write does not always say so: a value file's
        folder that cannot be made reports "No such file")."""
        try:
            return not writable(self._path)
        except OSError:
            return False

    def set(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Store ``value`` (see :meth:`diskcache.Cache.set`)."""
        return self._write(lambda: diskcache.Cache.set(self, key, value, expire, read, tag, retry), None)

    def add(self, key, value, expire=None, read=False, tag=None, retry=False):
        """Store ``value`` unless ``key`` is stored; True when stored (see :meth:`diskcache.Cache.add`).

        Skipped on a read-only folder (``ignore_read_only``) it answers True: a caller
        taking a lock with it must go on without the lock rather than wait for ever.
        """
        return self._write(lambda: diskcache.Cache.add(self, key, value, expire, read, tag, retry), True)

    def touch(self, key, expire=None, retry=False):
        """Renew the expiry of ``key`` (see :meth:`diskcache.Cache.touch`)."""
        return self._write(lambda: diskcache.Cache.touch(self, key, expire, retry), False)

    def delete(self, key, retry=False):
        """Delete ``key`` if stored (see :meth:`diskcache.Cache.delete`)."""
        return self._write(lambda: diskcache.Cache.delete(self, key, retry), False)

    def pop(self, key, default=None, expire_time=False, tag=False, retry=False):
        """Remove and return the value of ``key`` (see :meth:`diskcache.Cache.pop`)."""
        try:
            return self._write(lambda: diskcache.Cache.pop(self, key, default, expire_time, tag, retry), default)
        except UnreadableValue as exc:
            self._discard(key, str(exc))
            return default

    @contextlib.contextmanager
    def transact(self, retry=False):
        """diskcache's transaction, begun on a healthy database (without one on a read-only folder when
        ``ignore_read_only``)."""
        with contextlib.ExitStack() as stack:
            entered = self._write(lambda: stack.enter_context(diskcache.Cache.transact(self, retry)), False)
            if entered is False and not self._ignore_read_only:
                raise CacheNotWritable.while_running()
            yield

    def __getstate__(self):
        return (self._path, self._lock_file, self._ignore_read_only, self._settings)

    def __setstate__(self, state):
        self.__init__(state[0], state[1], state[2], **state[3])


class SharedCache:
    """The diskcache folders of ``cache_dir`` (see the module docstring), safe to use from any process.

    Args:
        cache_dir: the folder (created when missing).
        results_bytes: size bound of ``results/``; the least recently stored entries are evicted beyond it.

    Raises:
        CacheNotWritable: the folder cannot be written (one line naming it).
    """

    def __init__(self, cache_dir: str | Path, results_bytes: int = 2**30):
        self.cache_dir = Path(cache_dir)
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            if not writable(self.cache_dir):
                raise PermissionError(errno.EACCES, "Permission denied")
        except OSError as exc:
            if isinstance(exc, CacheNotWritable) or exc.errno not in NOT_WRITABLE:
                raise
            raise CacheNotWritable.at_start(self.cache_dir, exc) from exc
        self.data = self.folder("data", eviction_policy="none", size_limit=2**40)
        # evicted by :meth:`evict_results` (large values first), not by diskcache on each write; reads never write
        self.results_bytes = int(results_bytes)
        self.results = self.folder("results", size_limit=self.results_bytes, cull_limit=0,
                                   eviction_policy="least-recently-stored")
        # held while :meth:`memo` computes; a background job sets it to its host's job slots, so only
        # computing jobs wait for one (not a cached answer, nor a hidden tab's job that does nothing)
        self.compute_gate: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext
        # called before values are stored after a job's answer (storing_after_answer); a job waits for the jobs
        # computing on its host there
        self.wait_before_storing: Callable[[], object] = lambda: None

    def folder(self, name: str, ignore_read_only: bool = False, **settings) -> HealingCache:
        """The diskcache folder ``<cache_dir>/<name>``, checked and healed (see :class:`HealingCache`)."""
        return HealingCache(self.cache_dir / name, self.cache_dir / "open.lock", ignore_read_only, **settings)

    def is_writable(self) -> bool:
        """True when every folder of the cache can be written right now (it may become read-only while running).

        Asked of the operating system (``access``), without writing: the page polls it.
        """
        folders = [self.cache_dir, *(self.cache_dir / name for name in ("data", "results", "callbacks"))]
        return all(os.access(f, os.W_OK) for f in folders if f.is_dir())

    @contextlib.contextmanager
    def exclusive(self, name: str, expire: float = 1800.0) -> Iterator[None]:
        """Hold the cross-process lock ``name`` (taken over after ``expire`` s, or at once if its holder died).

        On a read-only cache no lock can be taken; the block runs without one.
        """
        key = cache_key(Entry.LOCK, name)
        try:
            while not self.data.add(key, os.getpid(), expire=expire):
                holder = self.data.get(key)
                if holder is not None and not process_alive(holder):
                    self.data.delete(key)
                    continue
                time.sleep(0.02)
        except CacheNotWritable:
            yield
            return
        try:
            yield
        finally:
            with contextlib.suppress(CacheNotWritable):
                self.data.delete(key)

    def memo(self, key: str, compute: Callable[[], object], store_after_answer: bool = False):
        """``compute()`` once per ``key`` (from :func:`cache_key`) across processes, then from ``results``.

        A computation runs under :attr:`compute_gate` (nested ones too, so the gate must be re-entrant);
        within :func:`answering_from_cache` none runs (:class:`ComputationNeeded`).

        ``store_after_answer``: within :func:`storing_after_answer`, the value is computed here even when
        another process is computing it (not waited for), kept for the rest of the block and stored at its
        end; elsewhere it is memoised as any value.

        A stored value that cannot be read is computed again; on a read-only cache
        the value is computed and returned without being stored.
        """
        value = self.results.get(key, default=MISSING)
        if value is not MISSING:
            return value
        if _FROM_CACHE_ONLY.get():
            raise ComputationNeeded(key)
        pending = _STORE_AFTER_ANSWER.get() if store_after_answer else None
        if pending is not None:
            if key not in pending:
                with self.compute_gate():
                    pending[key] = (self, compute())
            return pending[key][1]
        # the gate before the lock: a process never holds a lock while it waits for the gate
        with self.compute_gate(), self.exclusive(key, expire=600):
            value = self.results.get(key, default=MISSING)
            if value is MISSING:
                value = compute()
                with contextlib.suppress(CacheNotWritable):
                    self.results.set(key, value)
                    self.evict_results(keep=key)
        return value

    def store_unless_there(self, key: str, value) -> bool:
        """Store a :meth:`memo` value unless it is stored, or another process holds its lock (it is computing
        or storing it); True when stored here. On a read-only cache nothing is stored."""
        lock = cache_key(Entry.LOCK, key)  # the lock memo computes under (exclusive)
        try:
            if key in self.results or not self.data.add(lock, os.getpid(), expire=600):
                return False
        except CacheNotWritable:
            return False
        try:
            self.results.set(key, value)
            self.evict_results(keep=key)
            return True
        except CacheNotWritable:
            return False
        finally:
            with contextlib.suppress(CacheNotWritable):
                self.data.delete(lock)

    def evict_results(self, keep: str | None = None) -> int:
        """Bring ``results/`` back under its bound; returns the number of entries evicted.

        Large values (:data:`LARGE_RESULT_BYTES` or more: matches, an Explorer view's rows) go first, the
        least recently stored first; small ones (evaluations, rankings, the views pre-computed after start)
        only when evicting every large one is not enough. At 5M predictions a match is about 130 MB, so
        under diskcache's own policy the pre-computed thresholds' matches pushed out the small results
        they were computed for. ``keep``: a key not to evict (the value just stored).
        """
        handle, evicted = self.results, 0
        over = handle.volume() - self.results_bytes
        for smallest in (LARGE_RESULT_BYTES, 1):  # values kept in the database itself (size 0) stay
            if over <= 0:
                break
            rows = handle.guard(lambda: handle._sql(
                "SELECT key, size FROM Cache WHERE size >= ? ORDER BY store_time", (smallest,)).fetchall())
            for key, size in rows:
                if over <= 0:
                    break
                if key != keep and handle.delete(key):
                    over, evicted = over - size, evicted + 1
        return evicted


def process_alive(pid) -> bool:
    """True when process ``pid`` exists and is not a zombie (locks are only shared on one machine)."""
    import psutil

    try:
        return psutil.Process(int(pid)).status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, ValueError, TypeError):
        return False
    except psutil.AccessDenied:
        return True
