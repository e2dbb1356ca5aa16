"""Large COCO results lists decoded in chunks, two processes at once (core/io/coco_chunks.py).

Chunks here are a few hundred bytes (a few records each), so every file is cut many times. The chunked
decode must give exactly the whole file's Part (bit for bit, messages included) with or without the
forked child, and must hand back to the whole-file decode whatever it cannot vouch for.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from detlens.core.demo import DemoConfig, generate_annotations
from detlens.core.io import InputError, coco, coco_chunks, load_dataset
from tests.test_io_decoding import BROKEN, GT, assert_same, random_results

FORMATS = {"compact": dict(separators=(",", ":")), "spaced": {}, "indented": dict(indent=2),
           "windows": dict(indent="\t")}


@pytest.fixture(params=[True, False], ids=["two-processes", "one-process"])
def chunked(request, monkeypatch):
    """Chunking forced on small files (chunks of about 300 bytes), with or without the forked child; yields
    the list of what each chunked load returned (a Part, or None when the whole file was decoded)."""
    monkeypatch.setattr(coco_chunks, "CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(coco_chunks, "CHUNK_BYTES", 300)
    # forced either way: the suite's other threads (browser drivers, servers' watchers) would otherwise turn the
    # child off; the child only decodes and writes to its pipe, so it needs no lock another thread could hold
    monkeypatch.setattr(coco_chunks, "_can_fork", lambda: request.param)
    taken = []
    real = coco_chunks.load_results_in_chunks

    def spy(path, disp):
        taken.append(real(path, disp))
        return taken[-1]
    monkeypatch.setattr(coco_chunks, "load_results_in_chunks", spy)
    return taken


def whole(path):
    """The whole-file decode of a results list, chunking off."""
    saved = coco_chunks.CHUNKED_MIN_BYTES
    coco_chunks.CHUNKED_MIN_BYTES = 10**15
    try:
        return coco.load_coco(path, "predictions")
    finally:
        coco_chunks.CHUNKED_MIN_BYTES = saved


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_benchmark_shaped_results_decode_in_chunks_exactly_as_whole(tmp_path, chunked, fmt):
    _, results = generate_annotations(DemoConfig.preset("benchmark", n_images=20))
    path = tmp_path / "res.json"
    path.write_text(json.dumps(results, **FORMATS[fmt]))
    part = coco.load_coco(path, "predictions")
    assert chunked[-1] is not None  # the chunked decode was taken ...
    assert len(part.scores) == len(results) > 50 * 4  # ... over many chunks
    assert_same(part, whole(path))


@pytest.mark.parametrize("seed", range(4))
def test_random_results_with_extra_fields_load_as_whole(tmp_path, chunked, seed):
    # fields in some records only, strings and booleans among numbers, nested lists, ids in some records:
    # chunked where every chunk agrees, else handed back to the whole-file decode; the Part is the same
    path = tmp_path / "res.json"
    path.write_text(json.dumps(random_results(np.random.default_rng(seed), 400)))
    assert_same(coco.load_coco(path, "predictions"), whole(path))


@pytest.mark.parametrize("records", [
    # a record gap inside a string, and inside a nested list of objects: a cut there gives a chunk that is
    # not an array of records
    [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5, "note": "a},{b" * 40}] * 30,
    [{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5,
      "segmentation": [{"counts": "x"}, {"counts": "y"}] * 20}] * 30,
    # every record quoting its id: messages must name the id of the right record
    [{"id": 100 + k, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": k / 40} for k in range(40)],
], ids=["gap-in-string", "gap-in-nested-objects", "ids"])
def test_record_gaps_that_are_not_between_records_change_nothing(tmp_path, chunked, records):
    path = tmp_path / "res.json"
    path.write_text(json.dumps(records))
    assert_same(coco.load_coco(path, "predictions"), whole(path))


def test_non_ascii_results_are_decoded_whole(tmp_path, chunked):
    path = tmp_path / "res.json"
    path.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5,
                                 "note": "é"}] * 40, ensure_ascii=False), encoding="utf-8")
    part = coco.load_coco(path, "predictions")
    assert chunked[-1] is None
    assert_same(part, whole(path))


@pytest.mark.parametrize(("text", "parts"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_broken_results_give_the_whole_files_message(tmp_path, chunked, text, parts):
    (tmp_path / "gt.json").write_text(json.dumps(GT))
    (tmp_path / "pred.json").write_text(text)
    with pytest.raises(InputError) as chunked_error:
        load_dataset(tmp_path / "gt.json", tmp_path / "pred.json")
    coco_chunks.CHUNKED_MIN_BYTES = 10**15
    with pytest.raises(InputError) as whole_error:
        load_dataset(tmp_path / "gt.json", tmp_path / "pred.json")
    assert str(chunked_error.value) == str(whole_error.value)
    assert all(p in str(chunked_error.value) for p in parts)


def test_a_child_that_fails_hands_the_file_back_to_the_whole_decode(tmp_path, monkeypatch):
    monkeypatch.setattr(coco_chunks, "CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(coco_chunks, "CHUNK_BYTES", 300)
    parent, real = os.getpid(), coco_chunks._decoded

    def fails_in_the_child(data, chunks, disp):
        if os.getpid() != parent:
            raise MemoryError("the child ran out of memory")
        return real(data, chunks, disp)
    monkeypatch.setattr(coco_chunks, "_decoded", fails_in_the_child)
    monkeypatch.setattr(coco_chunks, "_can_fork", lambda: True)
    _, results = generate_annotations(DemoConfig.preset("benchmark", n_images=10))
    path = tmp_path / "res.json"
    path.write_text(json.dumps(results))
    assert coco_chunks.load_results_in_chunks(path, "res.json") is None
    assert_same(coco.load_coco(path, "predictions"), whole(path))


def test_a_child_cut_off_mid_answer_hands_the_file_back_to_the_whole_decode(tmp_path, monkeypatch):
    monkeypatch.setattr(coco_chunks, "CHUNKED_MIN_BYTES", 0)
    monkeypatch.setattr(coco_chunks, "CHUNK_BYTES", 300)
    monkeypatch.setattr(coco_chunks, "_can_fork", lambda: True)
    parent, real = os.getpid(), coco_chunks.pickle

    class CutInTheChild:  # the child's answer loses its end, as when it is killed while writing
        loads = staticmethod(real.loads)
        HIGHEST_PROTOCOL = real.HIGHEST_PROTOCOL

        @staticmethod
        def dumps(value, protocol=None):
            whole = real.dumps(value, protocol=protocol)
            return whole if os.getpid() == parent else whole[:len(whole) // 2]
    monkeypatch.setattr(coco_chunks, "pickle", CutInTheChild)
    _, results = generate_annotations(DemoConfig.preset("benchmark", n_images=10))
    path = tmp_path / "res.json"
    path.write_text(json.dumps(results))
    assert coco_chunks.load_results_in_chunks(path, "res.json") is None
    assert_same(coco.load_coco(path, "predictions"), whole(path))


@pytest.mark.parametrize(("text", "n_chunks", "expected"), [
    # cuts at 8 and 16 of 25 bytes: the first gap at or after 8 is the one before record 3, none after 16
    (b'[{"a":1},{"a":2},{"a":3}]', 3, [b'{"a":1},{"a":2}', b'{"a":3}']),
    (b'[{"a":1},{"a":2},{"a":3}]', 4, [b'{"a":1}', b'{"a":2}', b'{"a":3}']),  # cuts at 6, 12, 18
    (b' [ {"a":1} ,\n {"a":2}, {"a":3} ] \n', 2, [b'{"a":1} ,\n {"a":2}', b'{"a":3}']),
    (b'[{"a":1},{"a":2}]', 9, [b'{"a":1}', b'{"a":2}']),  # fewer gaps than cuts: fewer chunks
    (b'[{"a":1},{"a":2},{"a":3},{"a":4}]', 1, [b'{"a":1},{"a":2},{"a":3},{"a":4}']),
    (b'[{"a":{"b":1}},{"a":2}]', 2, [b'{"a":{"b":1}}', b'{"a":2}']),
])
def test_chunk_bounds_cut_between_records(text, n_chunks, expected):
    assert [text[a:b] for a, b in coco_chunks.chunk_bounds(text, n_chunks)] == expected


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("n_chunks", [2, 3, 7, 50])
def test_chunks_hold_every_record_once_in_order(fmt, n_chunks):
    records = [{"image_id": k, "score": k / 10, "bbox": [k, 1, 2, 3]} for k in range(30)]
    text = json.dumps(records, **FORMATS[fmt]).encode()
    chunks = [json.loads(b"[" + text[a:b] + b"]") for a, b in coco_chunks.chunk_bounds(text, n_chunks)]
    assert [r for chunk in chunks for r in chunk] == records and 1 < len(chunks) <= n_chunks


@pytest.mark.parametrize("text", [b"[]", b"[ ]", b'{"images": []}', b"x[{}]", b"[1,2]", b'[{"a":1}',
                                  b'[{"a":1},{"a":2}] x', b'[{"a":1},{"a":2}]]', b'[{"a":1},{"a":2},]'])
def test_chunk_bounds_refuse_what_is_not_a_list_of_records(text):
    with pytest.raises(coco_chunks._NotSimple):
        coco_chunks.chunk_bounds(text, 2)


@pytest.mark.parametrize(("threads", "cpus", "expected"), [(1, 2, True), (1, 1, False), (2, 2, False)])
def test_the_child_is_forked_only_by_a_single_thread_with_a_second_cpu(monkeypatch, threads, cpus, expected):
    monkeypatch.setattr(coco_chunks.threading, "active_count", lambda: threads)
    monkeypatch.setattr(coco_chunks.os, "sched_getaffinity", lambda pid: set(range(cpus)))
    assert coco_chunks._can_fork() is expected
