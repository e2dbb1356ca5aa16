"""Run-time configuration of the server: one frozen object, read from the command line or the environment
at the edge (:mod:`detlens.app.cli`, :mod:`detlens.app.wsgi`) and passed to what needs it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from detlens.app.source import DataSource
from detlens.app.workspace import Workspace, read_workspace
from detlens.core.ap import AP_METHODS
from detlens.core.ap_rule import APRule
from detlens.core.matching import MATCH_METHODS

DEFAULT_HOST = "127.0.0.1"  # never listen on other interfaces unless told to
DEFAULT_PORT = 8050
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WSGI_HOST = ""  # under a WSGI server (gunicorn -b ...) the listening address is not known here: not loopback
DEFAULT_MAX_JOBS = 2  # background jobs computing at once per host (the others wait their turn)
DEFAULT_JOB_RUNNERS = 2  # long-lived job processes per web worker (app/job_runners.py)
DEFAULT_RESULTS_CACHE_MB = 1024  # memoised results; least recently stored evicted beyond it


def default_workers() -> int:
    """``min(4, cores)``: web worker processes of ``detlens serve``."""
    return max(1, min(4, os.cpu_count() or 1))


def default_cache_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """``$DETLENS_CACHE_DIR``, else ``$XDG_CACHE_HOME/detlens``, else ``~/.cache/detlens``."""
    if environ.get("DETLENS_CACHE_DIR"):
        return Path(environ["DETLENS_CACHE_DIR"])
    base = Path(environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "detlens"


@dataclass(frozen=True)
class ServeConfig:
    """Everything the dashboard server is configured with.

    Attributes:
        cache_dir: the folder every server process and background job shares.
        source: one data source to show (becomes :attr:`workspace`, one dataset with one run); None: see workspace.
        workspace: the datasets and runs to show; None (and no source) for the embedded demo.
        host, port: where ``detlens serve`` listens (host ``WSGI_HOST`` when a WSGI server binds).
        precompute: pre-compute every IoU slider value after the preparation.
        workers: web worker processes.
        users_file: user names and password hashes; None serves without login (loopback only).
        allowed_hosts: accepted ``Host:`` header names (empty: any).
        insecure_no_auth: serve a non-loopback address without login (a warning is printed).
        trusted_proxies: reverse proxies in front whose ``X-Forwarded-For/-Proto/-Host`` are believed.
        broker: Redis URL of a Celery broker for background jobs; None runs them on this host.
        max_jobs: background jobs computing at once on this host.
        job_runners: long-lived job processes per web worker (0: a fresh process per job).
        results_cache_mb: size bound of the memoised results.
        ap_method, match_method, pixel_plus_one: the AP rule the page selects at first (see :attr:`rule`).
    """

    cache_dir: Path
    source: DataSource | None = None
    workspace: Workspace | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    precompute: bool = True
    workers: int = field(default_factory=default_workers)
    users_file: Path | None = None
    allowed_hosts: tuple[str, ...] = ()
    insecure_no_auth: bool = False
    trusted_proxies: int = 0
    broker: str | None = None
    max_jobs: int = DEFAULT_MAX_JOBS
    job_runners: int = DEFAULT_JOB_RUNNERS
    results_cache_mb: int = DEFAULT_RESULTS_CACHE_MB
    ap_method: str = "coco101"
    match_method: str = "coco"
    pixel_plus_one: bool = False

    def __post_init__(self):
        if self.source is not None and self.workspace is None:  # one code path: a one-dataset one-run workspace
            object.__setattr__(self, "workspace", Workspace.of_runs(self.source))

    @property
    def rule(self) -> APRule:
        """The server's default :class:`~detlens.core.ap_rule.APRule`.

        Raises:
            ValueError: an unknown AP or matching method.
        """
        return APRule(self.ap_method, self.match_method, self.pixel_plus_one)

    @property
    def is_loopback(self) -> bool:
        """True when the server listens on this machine only."""
        return self.host in LOOPBACK_HOSTS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "ServeConfig":
        """The WSGI entry's configuration: ``DETLENS_WORKSPACE`` (a workspace TOML file, see
        :mod:`detlens.app.workspace`) or ``DETLENS_LABELS``, ``DETLENS_PREDICTIONS`` (both, or neither
        for the demo), ``DETLENS_IMAGES``, ``DETLENS_FORMAT``, ``DETLENS_NAMES`` and ``DETLENS_PRED_NAMES``
        (class names files of the labels and of the predictions), ``DETLENS_CACHE_DIR`` and ``DETLENS_BROKER``
        (a Redis URL: background jobs and the preparation run on ``detlens worker`` processes),
        and the default AP rule: ``DETLENS_AP_METHOD``, ``DETLENS_MATCH``, ``DETLENS_PIXEL_PLUS_ONE`` (1 or 0),
        as ``detlens serve --ap-method/--match/--pixel-plus-one``.
        Login and proxies: see :func:`login_settings`. The listening address is the WSGI server's (``WSGI_HOST``).

        Raises:
            ValueError: only one of labels and predictions is set, both they and a workspace are, the workspace
                file is invalid, or a login or AP rule setting is malformed.
        """
        labels, predictions = environ.get("DETLENS_LABELS"), environ.get("DETLENS_PREDICTIONS")
        workspace_file = environ.get("DETLENS_WORKSPACE")
        if workspace_file and (labels or predictions):
            raise ValueError("set DETLENS_WORKSPACE or DETLENS_LABELS and DETLENS_PREDICTIONS, not both")
        if bool(labels) != bool(predictions):
            raise ValueError("set both DETLENS_LABELS and DETLENS_PREDICTIONS, or neither for the demo")
        source = None if not labels else DataSource(
            labels=labels, predictions=predictions, images=environ.get("DETLENS_IMAGES") or None,
            fmt=environ.get("DETLENS_FORMAT", "auto"), names=environ.get("DETLENS_NAMES") or None,
            pred_names=environ.get("DETLENS_PRED_NAMES") or None)
        rule = APRule(setting(environ, "DETLENS_AP_METHOD", AP_METHODS, APRule().ap_method),
                      setting(environ, "DETLENS_MATCH", MATCH_METHODS, APRule().match_method),
                      flag(environ, "DETLENS_PIXEL_PLUS_ONE"))
        workspace = read_workspace(workspace_file) if workspace_file else None
        return cls(cache_dir=default_cache_dir(environ), source=source, workspace=workspace,
                   broker=environ.get("DETLENS_BROKER") or None, host=WSGI_HOST, ap_method=rule.ap_method,
                   match_method=rule.match_method, pixel_plus_one=rule.pixel_plus_one, **login_settings(environ))


def setting(environ: Mapping[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    """The setting ``name``, one of ``allowed``; ``default`` when unset or empty.

    Raises:
        ValueError: any other value.
    """
    value = environ.get(name, "").strip() or default
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def flag(environ: Mapping[str, str], name: str) -> bool:
    """The yes/no setting ``name``: 1/true/yes, or 0/false/no/unset.

    Raises:
        ValueError: any other value.
    """
    value = environ.get(name, "").strip().lower()
    if value not in ("", "0", "false", "no", "1", "true", "yes"):
        raise ValueError(f"{name} must be 1 or 0, got {value!r}")
    return value in ("1", "true", "yes")


def login_settings(environ: Mapping[str, str]) -> dict:
    """``ServeConfig`` fields from ``DETLENS_USERS`` (users file), ``DETLENS_ALLOWED_HOSTS`` (comma-separated),
    ``DETLENS_INSECURE_NO_AUTH`` (1/true/yes or 0/false/no) and ``DETLENS_TRUSTED_PROXIES`` (a count).

    Raises:
        ValueError: a flag or count that is not one of those forms.
    """
    proxies = environ.get("DETLENS_TRUSTED_PROXIES", "0").strip() or "0"
    if not proxies.isdigit():
        raise ValueError(f"DETLENS_TRUSTED_PROXIES must be a count of proxies, got {proxies!r}")
    return dict(users_file=Path(environ["DETLENS_USERS"]) if environ.get("DETLENS_USERS") else None,
                allowed_hosts=split_hosts(environ.get("DETLENS_ALLOWED_HOSTS", "")),
                insecure_no_auth=flag(environ, "DETLENS_INSECURE_NO_AUTH"), trusted_proxies=int(proxies))


def split_hosts(text: str) -> tuple[str, ...]:
    """``"a, b"`` as ``("a", "b")``: host names for ``ServeConfig.allowed_hosts`` (lower-case, no blanks)."""
    return tuple(name.strip().lower() for name in text.split(",") if name.strip())
