"""Image routes of the dashboard: images served by dataset key and image index only.

``GET /images/<key>/<index>/thumb.jpg?size=256``
    JPEG thumbnail (longest side ``size``, one of ``core.thumbnails.THUMB_SIZES``),
    made once and cached on disk in ``<cache_dir>/thumbs/<key>/<index>_<size>.jpg``.
``GET /images/<key>/<index>/full``
    The original file (a 1024-pixel placeholder when the dataset has no readable file).

``key`` must be a dataset prepared in the shared cache (see :class:`~detlens.app.queries.Queries`)
and ``index`` an image of it (``0 <= index < n_images``). The file read is the
dataset's registered ``file_name`` under the images folder the server was
started with (see :func:`detlens.core.thumbnails.image_file`); nothing taken from the
request is ever used as a path. Every other request gets 404. Responses carry
``Cache-Control: public, max-age=MAX_AGE_S`` and an ``ETag`` (``If-None-Match``
answers 304).
"""

from __future__ import annotations

import re
from pathlib import Path

import flask

from detlens.app.cache import SharedCache
from detlens.app.queries import Queries
from detlens.core.thumbnails import THUMB_SIZES, image_file, make_thumbnail
from detlens.layouts.image_urls import DEFAULT_THUMB, FULL_RULE, THUMB_RULE

MAX_AGE_S = 7 * 24 * 3600
KEY_PATTERN = re.compile(r"[0-9a-f]{16,64}")


def thumbnail_path(cache: SharedCache, key: str, index: int, size: int) -> Path:
    """Where the thumbnail of image ``index`` of dataset ``key`` is cached."""
    return cache.cache_dir / "thumbs" / key / f"{index}_{size}.jpg"


def _registry(queries: Queries, key: str, index: int) -> dict:
    """The dataset's image registry after checking key and index; aborts with 404 otherwise."""
    if not _known(queries, key):
        flask.abort(404)
    images = queries.images(key)
    if not 0 <= index < len(images["file_names"]):
        flask.abort(404)
    return images


def _send(path, mimetype: str = "image/jpeg"):
    return flask.send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=MAX_AGE_S)


def _known(queries: Queries, key: str) -> bool:
    if not KEY_PATTERN.fullmatch(key):
        return False
    try:
        queries.images(key)
    except ValueError:
        return False
    return True


def register_image_routes(server: flask.Flask, queries: Queries) -> None:
    """Add the image routes to the dashboard's Flask server (see the module docstring)."""

    def thumbnail(key: str, index: int):
        size = flask.request.args.get("size", str(DEFAULT_THUMB))
        if not size.isdigit() or int(size) not in THUMB_SIZES:
            flask.abort(404)
        if not _known(queries, key):
            flask.abort(404)
        target = thumbnail_path(queries.cache, key, index, int(size))
        if not target.is_file():  # made once; every later request is a file read (or a 304)
            images = _registry(queries, key, index)
            source = image_file(images["dir"], images["file_names"][index])
            make_thumbnail(source, target, int(size), images["widths"][index], images["heights"][index])
        return _send(target)

    def full(key: str, index: int):
        images = _registry(queries, key, index)
        source = image_file(images["dir"], images["file_names"][index])
        if source is None:
            target = thumbnail_path(queries.cache, key, index, 1024)
            if not target.is_file():
                make_thumbnail(None, target, 1024, images["widths"][index], images["heights"][index])
            return _send(target)
        import mimetypes

        return _send(source, mimetypes.guess_type(source.name)[0] or "application/octet-stream")

    def not_found(rest: str = ""):
        flask.abort(404)  # anything else under /images/, rather than Dash's catch-all page

    exact = dict(methods=["GET"], merge_slashes=False)  # "//etc/passwd" is not redirected, it is refused
    server.add_url_rule(THUMB_RULE, "detlens_thumbnail", thumbnail, **exact)
    server.add_url_rule(FULL_RULE, "detlens_full_image", full, **exact)
    server.add_url_rule("/images/<path:rest>", "detlens_no_image", not_found, **exact)
    server.add_url_rule("/images/", "detlens_no_images", not_found, **exact)
