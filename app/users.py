"""The users file of ``detlens serve --users FILE``: user names and scrypt password hashes.

Format: one user a line, ``name:hash``; blank lines and lines starting with ``#``
are ignored. A hash is ``scrypt$<n>$<r>$<p>$<salt>$<key>``: the standard
library's :func:`hashlib.scrypt` with a random salt per user, salt and key in
URL-safe base64, and the cost parameters stored with them, so raising
:data:`DEFAULT_COST` later keeps every existing hash valid.

The file is written by ``detlens user add`` only through :func:`add_user`: to a
temporary name in the same folder, mode 0600, then renamed over the old file.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024  # longer form values are refused without hashing them
SALT_BYTES = 16
KEY_BYTES = 32
SCHEME = "scrypt"
MAX_SCRYPT_BYTES = 2**28  # memory one hash may take (n=2**17, r=8 is 128 MiB)


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's cost parameters: ``n`` (a power of two), block size ``r``, parallelism ``p``.

    Memory per hash is about ``128 * n * r`` bytes (32 MiB for the default).
    """

    n: int = 2**15
    r: int = 8
    p: int = 1

    def max_memory(self) -> int:
        """The ``maxmem`` bytes :func:`hashlib.scrypt` needs for this cost (with headroom)."""
        return 256 * self.r * (self.n + self.p + 2)

    def problem(self) -> str | None:
        """Why this cost cannot be used (a crafted file must not make a login take minutes), or None."""
        if self.n < 2 or self.n & (self.n - 1):
            return f"scrypt n must be a power of two, got {self.n}"
        if not 1 <= self.r <= 32 or not 1 <= self.p <= 16:
            return f"scrypt r must be 1..32 and p 1..16, got r={self.r} p={self.p}"
        if 128 * self.n * self.r > MAX_SCRYPT_BYTES:
            return f"scrypt n={self.n} r={self.r} needs more than {MAX_SCRYPT_BYTES >> 20} MiB"
        return None


DEFAULT_COST = ScryptCost()


class UsersFileError(ValueError):
    """A users file that cannot be used; the message is one line naming the file (and line)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, cost: ScryptCost, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                          maxmem=cost.max_memory(), dklen=length)


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """``scrypt$n$r$p$salt$key`` of ``password`` with a fresh random salt (see the module docstring)."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, cost, KEY_BYTES)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(key)}"


def parse_hash(text: str) -> tuple[ScryptCost, bytes, bytes]:
    """``(cost, salt, key)`` of a stored hash.

    Raises:
        ValueError: not a usable scrypt hash (the message says why, without the hash).
    """
    parts = text.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError(f"the hash is not '{SCHEME}$n$r$p$salt$key'")
    try:
        cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, key = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise ValueError("the hash has a non-numeric cost or a salt/key that is not base64") from None
    if (problem := cost.problem()) is not None:
        raise ValueError(problem)
    if len(salt) < 8 or len(key) < 16:
        raise ValueError("the hash's salt or key is too short")
    return cost, salt, key


def password_matches(password: str, stored: str) -> bool:
    """True when ``password`` hashes to ``stored`` (compared in constant time)."""
    cost, salt, key = parse_hash(stored)
    return hmac.compare_digest(_derive(password, salt, cost, len(key)), key)


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be set (too short, too long, a line break), or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"the password must have at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"the password may have at most {MAX_PASSWORD_CHARS} characters"
    if "\n" in password or "\r" in password:
        return "the password may not hold a line break"
    return None


def _parsed_lines(path: Path) -> list[tuple[int, str, str | None, str | None]]:
    """``(line number, raw text, name, hash)`` of every line; name and hash None for comments and blanks."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsersFileError(f"users file {path}: not found (create it with 'detlens user add')") from None
    except OSError as exc:
        raise UsersFileError(f"users file {path}: cannot be read ({exc.strerror})") from None
    rows, seen = [], set()
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            line = raw.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise UsersFileError(f"users file {path}, line {number}: not UTF-8 text") from None
        if not line.strip() or line.lstrip().startswith("#"):
            rows.append((number, line, None, None))
            continue
        name, sep, stored = line.partition(":")
        if not sep:
            raise UsersFileError(f"users file {path}, line {number}: expected 'name:hash'")
        if not NAME_PATTERN.fullmatch(name):
            raise UsersFileError(f"users file {path}, line {number}: {name_problem(name)}")
        if name in seen:
            raise UsersFileError(f"users file {path}, line {number}: user {name} is listed twice")
        try:
            parse_hash(stored)
        except ValueError as exc:
            raise UsersFileError(f"users file {path}, line {number}: {exc}") from None
        seen.add(name)
        rows.append((number, line, name, stored))
    return rows


def name_problem(name: str) -> str:
    """What is wrong with a user name that does not match :data:`NAME_PATTERN`."""
    shown = name if len(name) <= 70 and name.isprintable() else repr(name[:70])
    return (f"user name {shown!r} must be 1 to 64 letters, digits or . _ @ - "
            "(starting with a letter or digit)")


def read_users(path: str | Path) -> dict[str, str]:
    """``{name: hash}`` of the users file at ``path``.

    Raises:
        UsersFileError: the file is missing, unreadable, malformed (naming the line) or holds no user.
    """
    path = Path(path)
    users = {name: stored for _, _, name, stored in _parsed_lines(path) if name is not None}
    if not users:
        raise UsersFileError(f"users file {path}: holds no user (add one with 'detlens user add')")
    return users


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600): a temporary name, then a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def add_user(path: str | Path, name: str, password: str, force: bool = False,
             cost: ScryptCost = DEFAULT_COST) -> bool:
    """Add user ``name`` with ``password`` to the users file ``path`` (created when missing).

    Other lines (users, comments) are kept as they are. Returns True when an
    existing user's password was replaced (only with ``force``).

    Raises:
        UsersFileError: bad name or password, the user exists and not ``force``,
            the existing file is malformed (it is then left untouched), or its folder is missing.
    """
    path = Path(path)
    if not NAME_PATTERN.fullmatch(name):
        raise UsersFileError(f"users file {path}: {name_problem(name)}")
    if (problem := password_problem(password)) is not None:
        raise UsersFileError(f"users file {path}: {problem}")
    if not path.parent.is_dir():
        raise UsersFileError(f"users file {path}: folder {path.parent} does not exist")
    rows = _parsed_lines(path) if path.exists() else []
    if rows and rows[-1][1] == "":
        rows.pop()  # the file's final line break
    replaced = any(row_name == name for _, _, row_name, _ in rows)
    if replaced and not force:
        raise UsersFileError(f"users file {path}: user {name} exists (add --force to set a new password)")
    entry = f"{name}:{hash_password(password, cost)}"
    lines = [entry if row_name == name else raw for _, raw, row_name, _ in rows]
    write_private(path, "\n".join(lines if replaced else [*lines, entry]) + "\n")
    return replaced


class UserDirectory:
    """The users a server accepts: password checks and a per-user fingerprint for sessions.

    Args:
        hashes: ``{name: hash}`` as :func:`read_users` returns it (at least one user).
    """

    def __init__(self, hashes: Mapping[str, str]):
        self.hashes = dict(hashes)

    @classmethod
    def load(cls, path: str | Path) -> "UserDirectory":
        """The users of the file at ``path`` (see :func:`read_users` for the errors)."""
        return cls(read_users(path))

    @functools.cached_property
    def _decoy(self) -> str:
        # unknown names are checked against this hash (same cost as a real one), so the time a
        # failed login takes does not tell whether the name exists
        cost, _, _ = parse_hash(next(iter(self.hashes.values())))
        return hash_password(secrets.token_urlsafe(16), cost)

    def verify(self, name: str, password: str) -> bool:
        """True when ``name`` is a user and ``password`` is theirs."""
        if len(password) > MAX_PASSWORD_CHARS:
            return False
        stored = self.hashes.get(name)
        matches = password_matches(password, stored if stored is not None else self._decoy)
        return matches and stored is not None

    def fingerprint(self, name: str) -> str | None:
        """A short digest of ``name``'s stored hash, None for unknown names.

        A session holds it, so a new password (``detlens user add --force``) or a
        removed user ends that user's sessions once the server reads the file again.
        """
        stored = self.hashes.get(name)
        return None if stored is None else hashlib.sha256(stored.encode()).hexdigest()[:20]
