"""Cache values whose large arrays are read by mapping their file, not by copying it into memory.

A prepared dataset at 5M predictions pickles to about 400 MB. Unpickled, each
array is a fresh copy that the process first has to be given memory for; in a
forked dashboard job on this project's machine that took 1.4-1.8 s of the
1.5-1.7 s a read took, for every job and every read. Stored here instead:

* the value is pickled with protocol 5 and every contiguous buffer of at least
  ``MIN_MAPPED_BYTES`` (a large numpy array's data, a pandas block) kept out of
  band (:mod:`pickle`'s ``buffer_callback``);
* the file is ``MAGIC``, a header (buffer count, pickle length, each buffer's
  offset and length as little-endian uint64), the pickle, then each buffer
  at an offset aligned to ``ALIGN`` bytes;
* reading maps the file copy-on-write (``MAP_PRIVATE``) and gives the mapped
  buffers back to the unpickler, so each array is a view of the page cache:
  reading is near free, a process touches only the pages it uses, processes
  reading one file share its pages, and an array written to is copied page by
  page for that process alone (the file never changes).

Values without such a buffer are pickled as before.
A mapped file must not be cut short while a process maps it (the process
would get SIGBUS on a page past the new end): the cache never does so, it
only deletes a value's file, which a mapping outlives. Damage is found when
the file is read (below).
A file shorter than its header says, or whose header does not parse, raises
:class:`ValueError` (the cache discards the entry, see
:class:`~detlens.app.cache.CheckedDisk`); a file without ``MAGIC`` is an
ordinary pickle (:data:`NOT_MAPPED`), so caches written before read on.
"""

from __future__ import annotations

import mmap
import os
import pickle
import struct

from detlens.core.files import atomic_writer

MAGIC = b"DLMAPPED1\n"
ALIGN = 64  # bytes: every buffer starts at a multiple (numpy's widest alignment need)
MIN_MAPPED_BYTES = 1 << 20  # a buffer this large goes out of band; a value without one is an ordinary pickle
NOT_MAPPED = object()  # read_mapped's answer for a file in another format
_U64 = struct.Struct("<Q")


def _aligned(offset: int) -> int:
    return -(-offset // ALIGN) * ALIGN


def pickle_out_of_band(value) -> tuple[bytes, list[memoryview] | None]:
    """``(pickle, buffers)`` of ``value``, its contiguous buffers of at least ``MIN_MAPPED_BYTES`` out of band;
    ``(ordinary protocol-5 pickle, None)`` when it has none. One pass either way."""
    views: list[memoryview] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:  # False: out of band (pickle's convention)
        view = buffer.raw()
        if view.nbytes < MIN_MAPPED_BYTES:
            return True
        views.append(view)
        return False
    data = pickle.dumps(value, protocol=5, buffer_callback=out_of_band)
    return data, views or None


def write_mapped(path: str, data: bytes, views: list[memoryview]) -> int:
    """Write ``data`` and ``views`` (from :func:`pickle_out_of_band`) to a new file ``path``; returns its size.

    The file appears whole or not at all (:func:`~detlens.core.files.atomic_writer`).
    """
    header = len(MAGIC) + _U64.size * (2 + 2 * len(views))
    offsets, end = [], header + len(data)
    for view in views:
        offsets.append(_aligned(end) if view.nbytes else end)
        end = offsets[-1] + view.nbytes  # the file ends with the last buffer: any cut shortens a buffer
    with atomic_writer(path, "wb", encoding=None) as out:
        out.write(MAGIC)
        out.write(_U64.pack(len(views)) + _U64.pack(len(data)))
        for offset, view in zip(offsets, views):
            out.write(_U64.pack(offset) + _U64.pack(view.nbytes))
        out.write(data)
        for offset, view in zip(offsets, views):
            out.seek(offset)
            out.write(view)
    return end


def read_mapped(f):
    """The value stored by :func:`write_mapped` in the open file ``f`` (at its start), its arrays views of a
    copy-on-write mapping; :data:`NOT_MAPPED` when the file is in another format (``f`` is then back at its
    start, for the caller to read it its own way).

    Raises:
        ValueError: the file is shorter than its header says, or its header does not parse.
        pickle.UnpicklingError, EOFError: a damaged pickle.
    """
    if f.read(len(MAGIC)) != MAGIC:
        f.seek(0)
        return NOT_MAPPED
    raw = f.read(2 * _U64.size)
    if len(raw) != 2 * _U64.size:
        raise ValueError("the header is cut short")
    count, length = _U64.unpack_from(raw, 0)[0], _U64.unpack_from(raw, 8)[0]
    size = os.fstat(f.fileno()).st_size
    if 2 * _U64.size * count + length > size:  # checked before reading: a garbled count is not allocated
        raise ValueError(f"the file is shorter than its header says ({size:,} bytes)")
    table = f.read(2 * _U64.size * count)
    spans = [(_U64.unpack_from(table, 16 * k)[0], _U64.unpack_from(table, 16 * k + 8)[0]) for k in range(count)]
    data = f.read(length)
    if any(offset + n > size for offset, n in spans):
        raise ValueError(f"the file is shorter than its header says ({size:,} bytes)")
    mapped = memoryview(mmap.mmap(f.fileno(), 0, flags=mmap.MAP_PRIVATE,
                                  prot=mmap.PROT_READ | mmap.PROT_WRITE)) if count else None
    return pickle.loads(data, buffers=[mapped[offset:offset + n] for offset, n in spans])
