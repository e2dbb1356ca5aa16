"""Cache values with large arrays are stored for mapping (app/mapped_values.py): read back equal, as views of a
copy-on-write mapping, and a damaged file is discarded like any unreadable entry."""

from __future__ import annotations

import logging
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path

import diskcache
import numpy as np
import pandas as pd
import pytest

from detlens.app.cache import SharedCache
from detlens.app.mapped_values import ALIGN, MAGIC, MIN_MAPPED_BYTES, NOT_MAPPED, read_mapped
from detlens.core.io import load_dataset
from tests.coco_files import write_coco
from tests.random_coco import random_coco

BIG = MIN_MAPPED_BYTES // 8 + 1  # float64 elements: just over the threshold


def big_frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({"x": rng.random(BIG), "n": np.arange(BIG, dtype=np.int32),
                         "kind": pd.Categorical(rng.choice(["label", "prediction"], BIG)),
                         "name": np.array(["a", "b"], dtype=object)[np.arange(BIG) % 2]})


VALUES = {  # name: a value with at least MIN_MAPPED_BYTES of contiguous buffers
    "float64": lambda: np.linspace(0, 1, BIG),
    "boxes (N, 4)": lambda: np.arange(4 * BIG, dtype=np.float64).reshape(-1, 4),
    "fortran order": lambda: np.asfortranarray(np.arange(4 * BIG, dtype=np.float32).reshape(-1, 4)),
    "strided view (pickled in band)": lambda: {"v": np.arange(2 * BIG)[::2], "big": np.ones(BIG)},
    "bool, int64 and empty": lambda: (np.arange(BIG) % 3 == 0, np.arange(BIG, dtype=np.int64), np.empty((0, 4))),
    "structured": lambda: np.zeros(BIG, dtype=[("a", "<f8"), ("b", "<i4")]),
    "big-endian": lambda: np.arange(BIG, dtype=">f8"),
    "data frame": big_frame,
    "nested": lambda: {"a": [np.ones(BIG), {"b": np.zeros(3)}], "text": "x", "none": None},
}


def equal(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, pd.DataFrame):
        return a.equals(b) and list(a.dtypes) == list(b.dtypes)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return a == b


def value_path(cache: diskcache.Cache, key: str) -> Path:
    con = sqlite3.connect(Path(cache.directory) / "cache.db")
    try:
        ((name,),) = con.execute("SELECT filename FROM Cache WHERE key = ?", (key,)).fetchall()
    finally:
        con.close()
    return Path(cache.directory) / name


@pytest.fixture
def data(tmp_path):
    cache = SharedCache(tmp_path / "cache")
    yield cache.data
    cache.data.close()


@pytest.mark.parametrize("name", VALUES)
def test_a_value_with_large_buffers_reads_back_equal_from_a_mapped_file(data, name):
    value = VALUES[name]()
    data.set("k", value)
    path = value_path(data, "k")
    assert path.read_bytes()[:len(MAGIC)] == MAGIC
    assert equal(value, data.get("k"))
    with open(path, "rb") as f:
        assert equal(value, read_mapped(f))


def test_arrays_read_back_are_views_of_the_mapping_and_writable_without_changing_the_file(data):
    data.set("k", {"scores": np.arange(BIG, dtype=np.float64)})
    first = data.get("k")["scores"]
    assert not first.flags.owndata and first.flags.writeable  # a view, not a copy
    assert first.ctypes.data % ALIGN == 0
    first[:10] = -1.0  # copy-on-write: this process's pages only
    again = data.get("k")["scores"]
    assert again[0] == 0.0 and again[9] == 9.0 and first[0] == -1.0


def test_another_process_reads_what_this_one_stored(data, tmp_path):
    data.set("k", np.arange(BIG, dtype=np.int64))
    code = ("import sys; from detlens.app.cache import SharedCache; import numpy as np; "
            f"v = SharedCache({str(tmp_path / 'cache')!r}).data.get('k'); "
            f"sys.exit(0 if v.dtype == np.int64 and v.shape == ({BIG},) and int(v.sum()) == {BIG * (BIG - 1) // 2} "
            "and not v.flags.owndata else 1)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("value", [{"small": np.ones(10)}, [1, 2, 3], "text", np.ones(MIN_MAPPED_BYTES // 8 - 1)])
def test_values_below_the_threshold_are_ordinary_pickles(data, value):
    data.set("k", value)
    con = sqlite3.connect(Path(data.directory) / "cache.db")
    ((name,),) = con.execute("SELECT filename FROM Cache WHERE key = 'k'").fetchall()
    con.close()
    if name is not None:  # a large ordinary value has a file, without the mark
        assert (Path(data.directory) / name).read_bytes()[:len(MAGIC)] != MAGIC
    assert equal(value, data.get("k"))


def test_a_dataset_reads_back_with_every_column(data, tmp_path):
    labels, predictions = write_coco(tmp_path / "coco", *random_coco(3, n_images=8000))
    ds = load_dataset(labels, predictions)
    data.set("ds", ds)
    back = data.get("ds")
    assert value_path(data, "ds").read_bytes()[:len(MAGIC)] == MAGIC
    for table in ("labels", "predictions"):
        for column in ("ids", "image_index", "category_index", "boxes", "scores", "iscrowd", "areas"):
            assert equal(getattr(getattr(ds, table), column), getattr(getattr(back, table), column))
    assert list(back.images.file_names) == list(ds.images.file_names)


def test_a_file_in_diskcache_s_own_format_is_still_read(tmp_path):
    """Entries stored before this format (ordinary pickle files) read on."""
    plain = diskcache.Cache(str(tmp_path / "cache" / "data"))
    plain.set("k", np.arange(BIG))
    path = value_path(plain, "k")
    plain.close()
    with open(path, "rb") as f:
        assert read_mapped(f) is NOT_MAPPED
    cache = SharedCache(tmp_path / "cache")
    assert equal(np.arange(BIG), cache.data.get("k"))


def cut_header(path: Path) -> None:
    os.truncate(path, len(MAGIC) + 4)


def cut_pickle(path: Path) -> None:
    os.truncate(path, len(MAGIC) + 40)


def cut_buffers(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 1)


def garble_after_mark(path: Path) -> None:
    with open(path, "r+b") as f:
        f.seek(len(MAGIC))
        f.write(b"\xff" * 32)


def huge_count(path: Path) -> None:
    """A buffer count that would ask for gigabytes if it were believed before the file's size is checked."""
    with open(path, "r+b") as f:
        f.seek(len(MAGIC))
        f.write((10**9).to_bytes(8, "little"))


def garble_all(path: Path) -> None:
    with open(path, "r+b") as f:
        f.write(os.urandom(path.stat().st_size))


DAMAGE = {"header cut": cut_header, "pickle cut": cut_pickle, "buffers cut by a byte": cut_buffers,
          "header garbled": garble_after_mark, "huge buffer count": huge_count, "garbage": garble_all,
          "deleted": Path.unlink}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_mapped_file_is_discarded_with_one_log_line_and_computed_again(tmp_path, caplog, damage):
    cache = SharedCache(tmp_path / "cache")
    value = {"scores": np.arange(BIG, dtype=np.float64)}
    cache.results.set("k", value)
    DAMAGE[damage](value_path(cache.results, "k"))
    caplog.set_level(logging.WARNING, logger="detlens")
    recomputed = cache.memo("k", lambda: {"scores": np.arange(BIG, dtype=np.float64)})
    assert equal(value, recomputed)
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("detlens")]
    assert len(logged) == 1 and "discarded the entry" in logged[0], logged
    assert equal(value, cache.results.get("k"))  # stored again, whole



def unpickling_garbage(path: Path) -> None:
    """Bytes that unpickle (an empty list, then STOP) followed by garbage: what random bytes once were."""
    path.write_bytes(b"]." + os.urandom(path.stat().st_size - 2))


def pickle_then_more(path: Path) -> None:
    path.write_bytes(path.read_bytes() + b"\x00")


def older_protocol(path: Path) -> None:
    path.write_bytes(pickle.dumps(["not", "the", "value"], protocol=2))


ORDINARY_DAMAGE = {"garbage that unpickles": unpickling_garbage, "a byte after the pickle": pickle_then_more,
                   "a pickle this cache does not write": older_protocol, "garbage": garble_all}


@pytest.mark.parametrize("damage", ORDINARY_DAMAGE)
def test_a_damaged_ordinary_pickle_file_is_discarded_not_served(tmp_path, caplog, damage):
    """A value file without the mapped format must be one whole protocol-5 pickle: anything else that happens
    to unpickle is refused, so a damaged file is never served as a value."""
    cache = SharedCache(tmp_path / "cache")
    value = [{"row": k} for k in range(20_000)]  # a file (not in the database), without large buffers
    cache.results.set("k", value)
    path = value_path(cache.results, "k")
    assert path.read_bytes()[:len(MAGIC)] != MAGIC
    ORDINARY_DAMAGE[damage](path)
    caplog.set_level(logging.WARNING, logger="detlens")
    assert cache.memo("k", lambda: [{"row": k} for k in range(20_000)]) == value
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("detlens")]
    assert len(logged) == 1 and "discarded the entry" in logged[0], logged
