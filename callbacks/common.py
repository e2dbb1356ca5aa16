"""Helpers shared by the callback modules: the data store, class selection and alerts."""

from __future__ import annotations

import logging

import dash_bootstrap_components as dbc

from detlens.app.config import default_cache_dir
from detlens.app.datastore import DataStore

BACKGROUND_POLL_MS = 100  # how often the page asks for a background callback's result
LOG = logging.getLogger("detlens.dashboard")


def data_store() -> DataStore:
    """The store in the cache folder this process was configured with (``DETLENS_CACHE_DIR``)."""
    return DataStore(default_cache_dir())


def class_filter(selected: list[str] | None, all_classes: list[str]) -> list[str] | None:
    """The class subset for core/: None when every class is selected (shares cached results).

    Raises:
        ValueError: no class selected.
    """
    if not selected:
        raise ValueError("Select at least one class.")
    return None if set(selected) >= set(all_classes) else sorted(selected)


def min_score_of(value: float | None) -> float | None:
    """The minimum-confidence slider value as core/ expects it: None keeps every prediction."""
    return float(value) if value else None


def alert(message: str, color: str = "warning") -> dbc.Alert:
    """A readable message box for the page (never a stack trace)."""
    return dbc.Alert(message, color=color, className="mb-2")


def error_alert(exc: Exception) -> dbc.Alert:
    """An alert for an exception: the user's input problems as they are, others logged and summarised."""
    if isinstance(exc, (ValueError, OSError, KeyError)):
        return alert(str(exc).strip("'\""), "warning")
    LOG.exception("dashboard callback failed")
    return alert(f"Something went wrong while computing this view ({type(exc).__name__}: {exc}).", "danger")
