"""A large COCO results list decoded chunk by chunk, the chunks shared between two processes.

Decoded whole, 5M results were 1.6 GB of records before their columns were
gathered, and the decode used one core. Here (tested in
``tests/test_coco_chunks.py`` against the whole file's decode):

* Only a results list (a JSON array) of at least :data:`CHUNKED_MIN_BYTES`,
  ASCII throughout, is decoded this way.
* The file is mapped copy-on-write and cut into about ``size / CHUNK_BYTES``
  chunks at record boundaries: the first ``}`` + whitespace + ``,`` +
  whitespace + ``{`` at or after each cut. A chunk is decoded as an array of
  its own: ``[`` is written just before its first record and ``]`` just after
  its last, in this process's private copy of that page, and put back after.
* Each chunk goes through the typed decoder and the column checks, as the
  whole file would; its records are dropped before the next chunk, so at most
  one chunk's records are held at once.
* When this process has a single thread and at least two CPUs, the second half
  of the chunks is decoded in a forked process at the same time, its columns
  sent back through a pipe.
* Anything not as simple as valid records with the same fields in every chunk
  returns None, and the caller decodes the whole file as before, so that the
  result and any message are exactly the whole file's: a chunk that does not
  decode (a cut inside a string or a nested object makes one), a value the
  typed decoder cannot vouch for, an input error, a field learned in some
  chunks only, an extra column kept in some only, a child process that fails.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import re
import signal
import threading
from pathlib import Path

import numpy as np

CHUNKED_MIN_BYTES = 64 * 2**20  # smaller results lists are decoded whole
CHUNK_BYTES = 64 * 2**20  # about this much JSON per chunk
_RECORD_GAP = re.compile(rb"\}[ \t\r\n]*,[ \t\r\n]*\{")
_SPACE = b" \t\r\n"


class _NotSimple(Exception):
    """The chunked decode cannot vouch for this file: it is decoded whole."""


def load_results_in_chunks(path: Path, disp: str):
    """The :class:`~detlens.core.io.common.Part` of the results list ``path`` (named ``disp``) decoded in
    chunks (see the module docstring), or None when it must be decoded whole."""
    try:
        if path.stat().st_size < CHUNKED_MIN_BYTES:
            return None
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY) as data:
            return _decode_chunks(data, disp)
    except (OSError, ValueError, _NotSimple):  # ValueError: an empty file cannot be mapped
        return None


def _decode_chunks(data: mmap.mmap, disp: str):
    from detlens.core.io.coco import results_describer, results_part

    if np.frombuffer(data, np.uint8).max() >= 0x80:  # the whole file's decoders word any UTF-8 question
        raise _NotSimple
    chunks = chunk_bounds(data, max(2, -(-len(data) // CHUNK_BYTES)))
    half = (len(chunks) + 1) // 2
    if len(chunks) > 1 and _can_fork():
        child = _Child(data, chunks[half:], disp)  # decodes the second half while this process decodes the first
        parts = child.after(lambda: _decoded(data, chunks[:half], disp))
    else:
        parts = _decoded(data, chunks, disp)
    if len({p["learned"] for p in parts}) != 1 or len({tuple(sorted(p["extra"])) for p in parts}) != 1:
        raise _NotSimple  # a field in some chunks only: the whole file's rules decide
    ids = None
    if any(p["ids"] is not None for p in parts):
        ids = [i for p in parts for i in (p["ids"] if p["ids"] is not None else [None] * len(p["scores"]))]
    columns = {k: np.concatenate([p[k] for p in parts]) for k in ("img", "cat", "boxes", "scores")}
    extra = {name: np.concatenate([p["extra"][name] for p in parts]) for name in parts[0]["extra"]}
    return results_part(disp, columns["img"], columns["cat"], columns["boxes"], columns["scores"], extra,
                        results_describer(disp, ids))


def chunk_bounds(data, n_chunks: int) -> list[tuple[int, int]]:
    """``[(first, end)]``: each chunk's records run from ``data[first]`` (a ``{``) to ``data[end - 1]`` (a
    ``}``); cuts at the first record gap at or after each ``i / n_chunks`` of the file (fewer chunks when
    gaps run out)."""
    opening = data.find(b"[")
    closing = data.rfind(b"]")
    if (opening < 0 or closing < opening or any(c not in _SPACE for c in data[:opening])
            or any(c not in _SPACE for c in data[closing + 1:])):
        raise _NotSimple  # not one JSON array
    first = opening + 1
    while first < closing and data[first] in _SPACE:
        first += 1
    end = closing
    while end > first and data[end - 1] in _SPACE:
        end -= 1
    if data[first:first + 1] != b"{" or data[end - 1:end] != b"}":
        raise _NotSimple  # empty, or not an array of objects
    bounds, start = [], first
    for i in range(1, n_chunks):
        gap = _RECORD_GAP.search(data, max(start, len(data) * i // n_chunks), end)
        if gap is None:
            break
        bounds.append((start, gap.start() + 1))
        start = gap.end() - 1
    bounds.append((start, end))
    return bounds


def _decoded(data: mmap.mmap, chunks: list[tuple[int, int]], disp: str) -> list[dict]:
    """:func:`~detlens.core.io.coco.results_columns` of each chunk, in order."""
    from detlens.core.io.coco import results_columns

    out = []
    for first, end in chunks:
        before, after = data[first - 1], data[end]
        data[first - 1], data[end] = ord("["), ord("]")  # this process's private copy of the page
        try:
            with memoryview(data) as view, view[first - 1:end + 1] as chunk:
                columns = results_columns(chunk, disp)
        finally:
            data[first - 1], data[end] = before, after
        if columns is None:
            raise _NotSimple
        out.append(columns)
    return out


def _can_fork() -> bool:
    """A forked child is safe (no other thread could hold a lock it needs) and useful (two CPUs)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return hasattr(os, "fork") and threading.active_count() == 1 and cpus >= 2


class _Child:
    """A forked process decoding ``chunks`` (:func:`_decoded`) and sending them back through a pipe."""

    def __init__(self, data: mmap.mmap, chunks: list[tuple[int, int]], disp: str):
        read, write = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:  # the child: decode, send, exit without running anything of the parent's
            try:
                os.close(read)
                try:
                    payload = pickle.dumps(_decoded(data, chunks, disp), protocol=pickle.HIGHEST_PROTOCOL)
                except BaseException:  # noqa: BLE001 - the parent decodes the whole file instead
                    payload = pickle.dumps(None)
                with os.fdopen(write, "wb") as out:
                    out.write(payload)
            finally:
                os._exit(0)
        os.close(write)
        self.read = read

    def after(self, own_work) -> list[dict]:
        """``own_work()``'s chunks followed by the child's; the child is killed if ``own_work`` raises.

        Raises:
            _NotSimple: the child failed or could not vouch for its chunks.
        """
        try:
            mine = own_work()
            with os.fdopen(self.read, "rb") as answer:
                self.read = None
                payload = answer.read()
        except BaseException:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            raise
        finally:
            if self.read is not None:
                os.close(self.read)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        try:  # a child killed mid-write (out of memory) leaves a cut pickle
            theirs = pickle.loads(payload) if payload else None
        except Exception:  # noqa: BLE001 - any damage: the whole file is decoded instead
            theirs = None
        if theirs is None:
            raise _NotSimple
        return mine + theirs
