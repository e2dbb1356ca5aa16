"""The image URLs of the dashboard: what layouts link to and what :mod:`detlens.app.images` serves.

Images are addressed by dataset key and image index only, never by a path.
"""

from __future__ import annotations

DEFAULT_THUMB = 256  # longest side of a grid thumbnail, pixels
THUMB_RULE = "/images/<key>/<int:index>/thumb.jpg"  # Flask URL rules of the image routes
FULL_RULE = "/images/<key>/<int:index>/full"


def thumb_url(key: str, index: int, size: int = DEFAULT_THUMB) -> str:
    """URL of the thumbnail of image ``index`` of dataset ``key``, longest side ``size`` pixels."""
    return f"/images/{key}/{int(index)}/thumb.jpg?size={int(size)}"


def full_url(key: str, index: int) -> str:
    """URL of the full image ``index`` of dataset ``key``."""
    return f"/images/{key}/{int(index)}/full"
