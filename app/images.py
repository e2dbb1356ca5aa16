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

from pathlib import Path

import flask

from detlens.app.cache import SharedCache
from detlens.app.queries import Queries
from detlens.callbacks.inputs import is_dataset_key
from detlens.core.thumbnails import THUMB_SIZES, image_file, make_thumbnail
from detlens.layouts.image_urls import DEFAULT_THUMB, FULL_RULE, THUMB_RULE

MAX_AGE_S = 7 * 24 * 3600
SIZES = {str(size): size for size in THUMB_SIZES}  # the ?size= texts served
IMAGE_ENDPOINTS = ("detlens_thumbnail", "detlens_full_image")


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
    if not is_dataset_key(key):
        return False
    try:
        queries.images(key)
    except ValueError:
        return False
    return True


def register_image_routes(server: flask.Flask, queries: Queries) -> None:
    """Add the image routes to the dashboard's Flask server (see the module docstring)."""

    def thumbnail(key: str, index: int):
        size = SIZES.get(flask.request.args.get("size", str(DEFAULT_THUMB)))  # text: no int() of 5,000 digits
        if size is None or not _known(queries, key):
            flask.abort(404)
        target = thumbnail_path(queries.cache, key, index, size)
        if not target.is_file():  # made once; every later request is a file read (or a 304)
            images = _registry(queries, key, index)
            source = image_file(images["dir"], images["file_names"][index])
            make_thumbnail(source, target, size, images["widths"][index], images["heights"][index])
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

    def only_image_routes():
        # Anything else under /images/ is 404, whichever route matched: "/images//etc/passwd" matches no
        # image route (a path part cannot start with "/") and would otherwise reach Dash's catch-all page.
        path = flask.request.path
        if (path == "/images" or path.startswith("/images/")) and flask.request.endpoint not in IMAGE_ENDPOINTS:
            flask.abort(404)

    exact = dict(methods=["GET"], merge_slashes=False)  # "//etc/passwd" is not redirected, it is refused
    server.add_url_rule(THUMB_RULE, "detlens_thumbnail", thumbnail, **exact)
    server.add_url_rule(FULL_RULE, "detlens_full_image", full, **exact)
    server.before_request(only_image_routes)
