"""A data source whose preparation hangs in the pixel pass until told otherwise, so a test can catch the
preparation with its pixel workers running whatever the machine's speed.

One image file is a named pipe: the pixel worker that opens it waits for a
writer that never comes. :func:`unblock` puts the real image back.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from detlens.app.cache import SharedCache
from detlens.app.source import DataSource, read_status
from detlens.core.demo import DemoConfig, write_demo

PIXEL_STEP = "Computing image metrics"  # the preparation's progress text during the pixel pass


@dataclass(frozen=True)
class StuckSource:
    """The source, and where its blocking image and the real one are."""

    source: DataSource
    pipe: Path
    real_image: Path


def stuck_source(folder: Path, n_images: int = 12) -> StuckSource:
    """A rendered demo in ``folder`` whose first image is a named pipe (see the module docstring)."""
    paths = write_demo(folder, DemoConfig.preset("default", n_images=n_images))
    pipe = sorted(Path(paths.images_dir).iterdir())[0]
    real = folder / f"real-{pipe.name}"
    pipe.rename(real)
    os.mkfifo(pipe)
    return StuckSource(DataSource(str(paths.labels), str(paths.predictions), images=str(paths.images_dir)),
                       pipe, real)


def serve_command(stuck: StuckSource, cache_dir: Path, port: int) -> list[str]:
    """``detlens serve`` on the stuck source (without pre-computing the IoU thresholds afterwards)."""
    source = stuck.source
    return [sys.executable, "-m", "detlens.app.cli", "serve", "--labels", source.labels, "--predictions",
            source.predictions, "--images", source.images, "--cache-dir", str(cache_dir), "--port", str(port),
            "--no-precompute"]


def unblock(stuck: StuckSource) -> None:
    """Put the real image back in place of the pipe."""
    stuck.pipe.unlink()
    os.link(stuck.real_image, stuck.pipe)


def group_members(pgid: int) -> list[psutil.Process]:
    """Every live process of process group ``pgid``."""
    members = []
    for process in psutil.process_iter():
        try:
            if os.getpgid(process.pid) == pgid and process.status() != psutil.STATUS_ZOMBIE:
                members.append(process)
        except (ProcessLookupError, psutil.NoSuchProcess):
            pass
    return members


def wait_for_pixel_workers(cache_dir: Path, source_id: str, timeout: float = 120) -> tuple[int, list[psutil.Process]]:
    """Wait until the preparation of ``source_id`` is in the pixel pass with worker processes beside it;
    return its pid and the other processes of its group (forkserver, workers, resource tracker)."""
    cache = SharedCache(cache_dir)
    deadline = time.monotonic() + timeout
    while True:
        status = read_status(cache, source_id)
        if status.text.startswith(PIXEL_STEP) and status.pid is not None:
            others = [p for p in group_members(status.pid) if p.pid != status.pid]
            if len(others) >= 2:
                return status.pid, others
        assert status.state != "error", status.text
        assert time.monotonic() < deadline, f"the preparation never reached the pixel pass: {status}"
        time.sleep(0.1)


def all_gone(processes: list[psutil.Process], timeout: float = 10) -> list[psutil.Process]:
    """The processes still alive (zombies count as gone) after waiting up to ``timeout`` s for them."""
    deadline = time.monotonic() + timeout
    while True:
        alive = []
        for process in processes:
            try:
                if process.status() != psutil.STATUS_ZOMBIE:
                    alive.append(process)
            except psutil.NoSuchProcess:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)
