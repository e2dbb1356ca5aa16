"""The image routes: only registered images by key and index; every other request 404; thumbnails cached."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from detlens.app.cache import Entry, SharedCache, cache_key
from detlens.app.images import register_image_routes, thumbnail_path
from detlens.app.preparation import prepare
from detlens.app.queries import Queries
from detlens.app.source import DataSource
from detlens.core.demo import DemoConfig, write_demo
from detlens.core.packed_strings import PackedStrings
from detlens.core.thumbnails import image_file, make_thumbnail

N_IMAGES = 6


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(Flask test client, queries, key) for a small rendered demo, plus a secret file beside its images."""
    import flask

    root = tmp_path_factory.mktemp("images")
    paths = write_demo(root / "demo", DemoConfig.preset("default", n_images=N_IMAGES))
    (root / "demo" / "secret.txt").write_text("not an image")
    queries = Queries(SharedCache(root / "cache"))
    key = prepare(queries, DataSource(str(paths.labels), str(paths.predictions), images=str(paths.images_dir)))
    app = flask.Flask("test")
    register_image_routes(app, queries)
    return app.test_client(), queries, key


def test_known_image_is_a_cached_jpeg_thumbnail_with_caching_headers(served):
    client, queries, key = served
    r = client.get(f"/images/{key}/0/thumb.jpg?size=256")
    assert r.status_code == 200 and r.mimetype == "image/jpeg"
    assert "public" in r.headers["Cache-Control"] and "max-age=" in r.headers["Cache-Control"]
    assert r.headers.get("ETag")
    image = Image.open(io.BytesIO(r.data))
    assert image.format == "JPEG" and max(image.size) == 256
    cached = thumbnail_path(queries.cache, key, 0, 256)
    assert cached.is_file()
    again = client.get(f"/images/{key}/0/thumb.jpg?size=256")
    assert again.data == cached.read_bytes() == r.data
    r.close(), again.close()
    not_modified = client.get(f"/images/{key}/0/thumb.jpg?size=256", headers={"If-None-Match": r.headers["ETag"]})
    assert not_modified.status_code == 304


def test_full_image_is_the_original_file(served):
    client, queries, key = served
    r = client.get(f"/images/{key}/1/full")
    images = queries.images(key)
    assert r.status_code == 200 and r.data == (image_file(images["dir"], images["file_names"][1])).read_bytes()
    assert "max-age=" in r.headers["Cache-Control"]
    r.close()


@pytest.mark.parametrize("url", [
    "/images/{key}/{n}/thumb.jpg",              # index == n_images
    "/images/{key}/999999/full",
    "/images/{key}/-1/thumb.jpg",               # negative index
    "/images/{key}/abc/thumb.jpg",              # not an integer
    "/images/{key}/1.5/full",
    "/images/{key}/0/thumb.jpg?size=300",       # size not offered
    "/images/{key}/0/thumb.jpg?size=-256",
    "/images/0123456789abcdef0123/0/thumb.jpg",  # unknown dataset key
    "/images/not-a-key/0/full",
    "/images/../secret.txt",
    "/images/{key}/../secret.txt",
    "/images/{key}/0/../../secret.txt",
    "/images/..%2F..%2Fsecret.txt",
    "/images/{key}/..%2Fsecret.txt",
    "/images/%2e%2e/%2e%2e/secret.txt",
    "/images/{key}/%2e%2e%2fsecret.txt",
    "/images/%252e%252e%252fsecret.txt",         # double-encoded
    "/images/{key}/%252e%252e/full",
    "/images//etc/passwd",                       # absolute paths
    "/images/{key}//etc/passwd",
    "/images/%2Fetc%2Fpasswd/0/full",
    "/images/{key}/..\\..\\secret.txt",          # backslashes
    "/images/{key}/0\\..\\..\\secret.txt/full",
    "/images/..%5C..%5Csecret.txt",
    "/images/",
    "/images/{key}",
    "/images/{key}/0",
])
def test_everything_else_is_404(served, url):
    client, _, key = served
    r = client.get(url.format(key=key, n=N_IMAGES))
    assert r.status_code == 404, url
    assert b"not an image" not in r.data


def test_a_file_name_leaving_the_folder_has_no_file(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "ok.jpg").write_bytes(b"x")
    (tmp_path / "outside.jpg").write_bytes(b"x")
    (tmp_path / "images" / "link.jpg").symlink_to(tmp_path / "outside.jpg")
    images = tmp_path / "images"
    assert image_file(images, "ok.jpg") == (images / "ok.jpg").resolve()
    for name in ("../outside.jpg", "/etc/passwd", str(tmp_path / "outside.jpg"), "a/../../outside.jpg",
                 "..\\outside.jpg", "C:\\x.jpg", "link.jpg", "missing.jpg", "", "nul\x00.jpg"):
        assert image_file(images, name) is None, name
    assert image_file(None, "ok.jpg") is None


@pytest.mark.parametrize("size, width, height, expected", [(256, 640, 480, (256, 192)), (128, 100, 400, (32, 128)),
                                                           (256, float("nan"), float("nan"), (256, 192))])
def test_missing_file_gives_a_grey_placeholder_of_the_image_shape(tmp_path, size, width, height, expected):
    out = make_thumbnail(None, tmp_path / "t.jpg", size, width, height)
    assert Image.open(out).size == expected


def test_unreadable_file_gives_a_placeholder(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    out = make_thumbnail(bad, tmp_path / "t.jpg", 128, 200, 100)
    assert Image.open(out).size == (128, 64)


def test_the_registry_holds_packed_names_and_float_arrays_read_without_an_object_per_image(served):
    _, queries, key = served
    images, dataset = queries.images(key), queries.dataset(key)
    assert isinstance(images["file_names"], PackedStrings)
    assert list(images["file_names"]) == [str(f) for f in dataset.images.file_names]
    assert images["widths"].dtype == images["heights"].dtype == np.float64
    assert images["widths"].tolist() == dataset.images.widths.tolist()


def test_a_registry_of_lists_written_by_an_earlier_version_still_serves(served, tmp_path):
    import flask

    client, queries, key = served
    images = queries.images(key)
    older = Queries(SharedCache(tmp_path / "cache"))
    older.cache.data.set(cache_key(Entry.IMAGES, key), {
        "dir": images["dir"], "file_names": list(images["file_names"]), "widths": images["widths"].tolist(),
        "heights": images["heights"].tolist()})
    app = flask.Flask("older")
    register_image_routes(app, older)
    r = app.test_client().get(f"/images/{key}/1/full")
    assert r.status_code == 200 and r.data == image_file(images["dir"], images["file_names"][1]).read_bytes()
    r.close()
    assert app.test_client().get(f"/images/{key}/{N_IMAGES}/full").status_code == 404
