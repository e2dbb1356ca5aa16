"""The datasets a server shows and their prediction runs: a workspace, read from a TOML file or the command line.

A workspace file lists datasets, each with its labels, images, format options
(those of :class:`~detlens.app.source.DataSource`) and one or more named runs::

    [[datasets]]
    name = "val2017"
    labels = "val/labels.json"        # paths relative to this file's folder
    images = "val/images"             # optional; also format, box_format, names, pred_names, clip
    [datasets.runs]
    baseline = "runs/baseline.json"   # run name = predictions path, in the order shown
    small-anchors = "runs/small.json"

:func:`read_workspace` checks it and raises a one-line :class:`ValueError`
naming the file, the entry and the problem. A :class:`Workspace` is frozen;
:class:`LiveWorkspace` is what a server process holds: the current workspace,
read again when its file's modification time changes (a file that became
invalid keeps the previous workspace and reports the error).
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from detlens.app.source import DataSource

FORMATS = ("auto", "coco", "yolo", "voc", "txt")
BOX_FORMATS = ("xyxy", "xywh")
TEXT_KEYS = ("name", "labels", "images", "format", "box_format", "names", "pred_names")
DATASET_KEYS = (*TEXT_KEYS, "clip", "runs")
PATH_KEYS = ("labels", "images", "names", "pred_names")  # resolved against the workspace file's folder


@dataclass(frozen=True)
class Run:
    """One prediction run of a dataset.

    Attributes:
        name: the run's name as the run picker shows it.
        source: the labels, these predictions and the dataset's options.
        source_id: ``source.source_id()`` when the workspace was read (the page's ``SOURCE`` store holds it).
    """

    name: str
    source: DataSource
    source_id: str

    @classmethod
    def of(cls, name: str, source: DataSource) -> "Run":
        """The run ``name`` of ``source`` with its source id."""
        return cls(name, source, source.source_id())


@dataclass(frozen=True)
class WorkspaceDataset:
    """A dataset of the workspace: its name and its runs (at least one, in the order given)."""

    name: str
    runs: tuple[Run, ...]


@dataclass(frozen=True)
class Workspace:
    """The datasets a server shows, each with its runs.

    Attributes:
        datasets: in the order given; names unique, run names unique within a dataset.
        file: the TOML file it was read from; None when it came from the command line (nothing to reload).
    """

    datasets: tuple[WorkspaceDataset, ...]
    file: Path | None = None

    @classmethod
    def of_runs(cls, source: DataSource, runs: Iterable[tuple[str, str]] | None = None,
                dataset: str | None = None) -> "Workspace":
        """One dataset: ``source``'s labels and options with each ``(run name, predictions path)`` of ``runs``
        (None: ``source``'s predictions, named after their file). ``dataset``: its name (default: the labels'
        file or folder name without suffix)."""
        runs = list(runs) if runs is not None else [(Path(source.predictions).stem, source.predictions)]
        named = [Run.of(name, replace(source, predictions=path)) for name, path in runs]
        return cls((WorkspaceDataset(dataset or Path(source.labels).stem, tuple(named)),))

    @property
    def runs(self) -> tuple[Run, ...]:
        """Every run of every dataset: the first dataset's first run first (the order they are prepared in)."""
        return tuple(run for dataset in self.datasets for run in dataset.runs)

    @property
    def first(self) -> Run:
        """The run a page shows at first."""
        return self.datasets[0].runs[0]

    @property
    def has_choices(self) -> bool:
        """True when there is something to pick or reload (more than one run, or a workspace file)."""
        return self.file is not None or len(self.runs) > 1

    def dataset_names(self) -> list[str]:
        """The datasets' names, in order."""
        return [dataset.name for dataset in self.datasets]

    def runs_of(self, dataset: str) -> tuple[Run, ...]:
        """The runs of the dataset named ``dataset`` (empty when there is none)."""
        return next((d.runs for d in self.datasets if d.name == dataset), ())

    def run_choices(self, dataset: str) -> list[dict]:
        """``[{"name": run name, "source": source id}]`` of ``dataset``'s runs: what the page's ``RUNS`` store
        holds (small JSON; never a path)."""
        return [{"name": run.name, "source": run.source_id} for run in self.runs_of(dataset)]

    def run(self, dataset: str, name: str) -> Run | None:
        """The run ``name`` of ``dataset``, or None."""
        return next((run for run in self.runs_of(dataset) if run.name == name), None)

    def find(self, source_id: object) -> tuple[str, Run] | None:
        """``(dataset name, run)`` whose source id is ``source_id``; None for anything else (any type)."""
        for dataset in self.datasets:
            for run in dataset.runs:
                if run.source_id == source_id:
                    return dataset.name, run
        return None


# ----- command line -------------------------------------------------------------------------------------------
def parse_runs(values: list[str], option: str = "--predictions") -> list[tuple[str, str]]:
    """``(name, path)`` of each ``NAME=PATH`` value, or of a bare path named after its file (stem).

    A value that is an existing file or folder is a bare path even when it holds a ``=``.

    Raises:
        ValueError: an empty name or path around ``=``, or a name given twice.
    """
    runs = []
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or Path(value).exists():
            name, path = Path(value).stem, value
        elif not name.strip():
            raise ValueError(f"{option} {value!r}: the run's name before '=' is empty (NAME=PATH)")
        elif not path:
            raise ValueError(f"{option} {value!r}: no file after '=' (NAME=PATH)")
        runs.append((name.strip(), path))
    seen = set()
    for name, _ in runs:
        if name in seen:
            both = "both" if len(runs) == 2 else "two"
            raise ValueError(f"{both} runs are named {name!r}: name them, e.g. {option} A=PATH {option} B=PATH")
        seen.add(name)
    return runs


# ----- the workspace file -------------------------------------------------------------------------------------
def read_workspace(path: str | Path) -> Workspace:
    """The workspace in the TOML file ``path`` (see the module docstring); relative paths are resolved
    against the file's folder.

    Raises:
        ValueError: one line naming the file, the entry and the problem: unreadable or invalid TOML (with its
            line), unknown keys, a missing or mistyped value, duplicate dataset names, a file that does not
            exist, no runs.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the workspace file ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: the workspace file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(doc) - {"datasets"})
    if unknown:
        raise ValueError(f"{path}: unknown top-level key {unknown[0]!r} (a workspace has [[datasets]] entries)")
    entries = doc.get("datasets")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ValueError(f"{path}: no datasets: give at least one [[datasets]] entry")
    datasets, names = [], set()
    for number, entry in enumerate(entries, start=1):
        dataset = _dataset(path, number, entry)
        if dataset.name in names:
            raise ValueError(f"{path}: dataset {number} ({dataset.name!r}): name used by an earlier dataset")
        names.add(dataset.name)
        datasets.append(dataset)
    return Workspace(tuple(datasets), file=path)


def _dataset(path: Path, number: int, entry: dict) -> WorkspaceDataset:
    """Dataset entry ``number`` (1-based) of the file ``path``, checked."""
    name = entry.get("name")
    where = f"{path}: dataset {number}" + (f" ({name!r})" if isinstance(name, str) and name.strip() else "")

    def fail(problem: str) -> ValueError:
        return ValueError(f"{where}: {problem}")

    unknown = sorted(set(entry) - set(DATASET_KEYS))
    if unknown:
        raise fail(f"unknown key {unknown[0]!r} (allowed: {', '.join(DATASET_KEYS)})")
    for key in ("name", "labels", "runs"):
        if key not in entry:
            raise fail(f"'{key}' is missing")
    for key in TEXT_KEYS:
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            raise fail(f"'{key}' must be a non-empty string, got {entry[key]!r}")
    if "clip" in entry and not isinstance(entry["clip"], bool):
        raise fail(f"'clip' must be true or false, got {entry['clip']!r}")
    for key, allowed in (("format", FORMATS), ("box_format", BOX_FORMATS)):
        if key in entry and entry[key] not in allowed:
            raise fail(f"'{key}' must be one of {', '.join(allowed)}, got {entry[key]!r}")
    runs = entry["runs"]
    if not isinstance(runs, dict):
        raise fail("'runs' must be a table of run name = predictions path ([datasets.runs])")
    if not runs:
        raise fail("'runs' is empty: give at least one run (name = predictions path)")
    folder = path.parent
    options = {key: _existing(folder, entry[key], f"{where}: {key}", key == "images")
               for key in PATH_KEYS if key in entry}
    source = DataSource(predictions="", fmt=entry.get("format", "auto"), clip=entry.get("clip", True),
                        box_format=entry.get("box_format", "xyxy"), **options)
    named = []
    for run_name, run_path in runs.items():
        if not run_name.strip():
            raise fail("a run's name is empty")
        if not isinstance(run_path, str) or not run_path.strip():
            raise fail(f"run {run_name!r}: the predictions path must be a non-empty string, got {run_path!r}")
        predictions = _existing(folder, run_path, f"{where}: run {run_name!r}")
        named.append(Run.of(run_name.strip(), replace(source, predictions=predictions)))
    return WorkspaceDataset(entry["name"].strip(), tuple(named))


def _existing(folder: Path, value: str, what: str, folder_only: bool = False) -> str:
    """``value`` resolved against ``folder`` (unless absolute), as a string; it must exist (``folder_only``:
    and be a folder).

    Raises:
        ValueError: ``what``, the path as written and the problem.
    """
    path = folder / Path(value).expanduser()
    if not path.exists():
        raise ValueError(f"{what}: {value!r} does not exist")
    if folder_only and not path.is_dir():
        raise ValueError(f"{what}: {value!r} is not a folder")
    return str(path)


class LiveWorkspace:
    """A server process's current workspace, read again when its file changes.

    :meth:`current` compares the file's modification time and size with those
    last read (one ``stat``: cheap enough for every status poll) and reads it
    again when they differ or when ``force`` (the page's reload button). A file
    that has become invalid keeps the previous workspace; :attr:`error` says why
    in one line until a valid version is read. ``on_change(new, old)`` is called
    after every successful re-read that changed the workspace (the server starts
    the preparation of new runs there).

    Args:
        workspace: the workspace read at start.
        on_change: called with ``(new workspace, previous workspace)``.
    """

    def __init__(self, workspace: Workspace, on_change: Callable[[Workspace, Workspace], None] | None = None):
        self.workspace, self.on_change = workspace, on_change
        self.error: str | None = None
        self.lock = threading.Lock()
        self.seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        """``(mtime_ns, size)`` of the workspace file; None without a file or when it cannot be read."""
        if self.workspace.file is None:
            return None
        try:
            stat = self.workspace.file.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    def current(self, force: bool = False) -> Workspace:
        """The workspace, read again first when its file changed (or ``force``)."""
        if self.workspace.file is None:
            return self.workspace
        with self.lock:
            stamp = self._stamp()
            if stamp == self.seen and not force:
                return self.workspace
            self.seen = stamp
            previous = self.workspace
            try:
                fresh = read_workspace(previous.file)
            except ValueError as exc:
                self.error = str(exc)
                return previous
            self.error = None
            if fresh == previous:
                return previous
            self.workspace = fresh
        if self.on_change is not None:
            self.on_change(fresh, previous)
        return fresh
