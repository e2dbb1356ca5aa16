"""Read-only cache folders that really refuse writes, even when the tests run as root.

``chmod -w`` alone does not stop root: the capability ``CAP_DAC_OVERRIDE``
lets it write anywhere. A process started with :func:`unprivileged` as its
``preexec_fn`` drops that capability (and ``CAP_DAC_READ_SEARCH``,
``CAP_FOWNER``) from its bounding set before ``exec``, so the program runs as
root without them and permission bits apply to it as to any user; it still owns
the files (root made them), so the owner bits decide. As another user nothing
needs dropping. A read-only mount or ``chattr +i`` would need privileges a
container may not grant; ``prctl(PR_CAPBSET_DROP)`` only needs ``CAP_SETPCAP``,
which root has in a default container.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

PR_CAPBSET_DROP = 24  # <linux/prctl.h>
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3  # <linux/capability.h>


def unprivileged() -> None:
    """``preexec_fn``: the program about to run gets no capability that overrides permission bits."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def make_read_only(folder: Path) -> None:
    """Remove every write permission below (and of) ``folder``."""
    subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)


def make_writable(folder: Path) -> None:
    """Give the owner write permission below (and of) ``folder`` again."""
    subprocess.run(["chmod", "-R", "u+w", str(folder)], check=True)


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` read-only for the duration of the block (writable again afterwards, so it can be removed)."""
    make_read_only(folder)
    try:
        yield folder
    finally:
        make_writable(folder)
