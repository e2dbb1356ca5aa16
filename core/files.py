"""Writing files so that nobody ever sees half of one: a temporary name in the same folder, then a rename.

Every file detlens writes goes through :func:`write_atomic` or
:func:`atomic_writer`. The data is written to a hidden temporary file beside
the target (``.<name>.<random>.tmp``) and moved over the target with
:func:`os.replace`, which is atomic within one file system. So:

* a reader (another server process, a user's viewer) sees the old file or the
  new one, never a partial one;
* a writer interrupted by an exception leaves the old file as it was and no
  temporary file behind (a killed process can leave a ``.tmp`` file, never a
  damaged target);
* a symbolic link at the target is replaced by the new file, never written through.

Files are created with the usual permissions (``0o666`` minus the umask). The
data is not fsync'ed: this protects against concurrent readers and interrupted
writers, not against power loss.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO


def temporary_name(target: Path) -> Path:
    """A fresh hidden name beside ``target`` for writing it: ``.<name>.<12 hex digits>.tmp``."""
    return target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")


@contextmanager
def atomic_writer(path: str | Path, mode: str = "wb", encoding: str | None = "utf-8") -> Iterator[IO]:
    """A file object for streaming writers; on leaving the block the file replaces ``path`` at once.

    Args:
        path: the file to (re)place; its folder must exist.
        mode: ``"wb"`` (bytes) or ``"w"`` (text, ``encoding``, newlines as given).
        encoding: text encoding for ``mode="w"``.

    Yields:
        The open temporary file. When the block raises, the temporary file is
        removed, ``path`` is left untouched and the exception propagates.
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_writer writes with mode 'wb' or 'w', not {mode!r}")
    target = Path(path)
    tmp = temporary_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": encoding, "newline": ""})) as fh:
            yield fh
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` (bytes, or text encoded with ``encoding``) to ``path`` atomically; return ``path``.

    See the module docstring for what "atomically" guarantees.
    """
    payload = data.encode(encoding) if isinstance(data, str) else bytes(data)
    with atomic_writer(path, "wb") as fh:
        fh.write(payload)
    return Path(path)


def check_output(path: str | Path, inputs: Mapping[str, str | Path | None], option: str) -> Path:
    """``path`` as an output file that may be written, or ValueError saying in one line why not.

    Args:
        path: the output file as the user gave it.
        inputs: ``{option name: path as given, or None}`` of every input (files or folders).
        option: the output's option name, for the message (``"--json"``).

    Raises:
        ValueError: ``path`` is an input file (also through a symbolic or hard
            link), lies inside an input folder, is a folder, or its folder does not exist.
    """
    out = Path(path)
    target = out.resolve()  # a symbolic link to an input is that input
    for name, given in inputs.items():
        if given is None:
            continue
        source = Path(given).resolve()
        same = target == source or (target.exists() and source.exists() and os.path.samefile(target, source))
        if same or (source.is_dir() and target.is_relative_to(source)):
            where = "is" if same else "is inside"
            raise ValueError(f"{option} {path} {where} the input {name} {given}: choose another output file")
    if target.is_dir():
        raise ValueError(f"{option} {path} is a folder: give a file name")
    if not target.parent.is_dir():
        raise ValueError(f"{option} {path}: folder {out.parent} does not exist")
    return out
