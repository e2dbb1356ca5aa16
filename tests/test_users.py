"""The users file: scrypt hashes with their parameters, one-line errors naming file and line, private writes."""

from __future__ import annotations

import stat

import pytest

from detlens.app.users import (ScryptCost, UserDirectory, UsersFileError, add_user, hash_password, parse_hash,
                               password_matches, read_users)

CHEAP = ScryptCost(n=16, r=1, p=1)  # hashing cost for tests that only need a valid hash
GOOD_HASH = hash_password("password1", CHEAP)


def test_hash_holds_its_parameters_and_a_random_salt():
    first, second = hash_password("password1"), hash_password("password1")
    assert first != second  # salt per hash
    cost, salt, key = parse_hash(first)
    assert cost == ScryptCost() and len(salt) == 16 and len(key) == 32
    assert first.startswith(f"scrypt${cost.n}${cost.r}${cost.p}$")
    assert password_matches("password1", first) and not password_matches("password2", first)


def test_a_hash_of_another_cost_still_verifies():
    stored = hash_password("s3cret-pass", ScryptCost(n=2**10, r=4, p=2))
    assert password_matches("s3cret-pass", stored)


@pytest.mark.parametrize("text, line, problem", [
    ("alice", 1, "expected 'name:hash'"),
    (f"# users\n\nbad name:{GOOD_HASH}", 3, "user name 'bad name'"),
    (f"alice:{GOOD_HASH}\nalice:{GOOD_HASH}", 2, "user alice is listed twice"),
    ("alice:md5$abc", 1, "is not 'scrypt$n$r$p$salt$key'"),
    ("alice:scrypt$x$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", 1, "non-numeric cost"),
    ("alice:scrypt$1000$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", 1, "power of two"),
    ("alice:scrypt$1048576$32$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", 1, "MiB"),
    ("alice:scrypt$16$1$1$c2Fs$a2V5", 1, "too short"),
])
def test_malformed_users_file_names_file_and_line(tmp_path, text, line, problem):
    path = tmp_path / "users"
    path.write_text(text + "\n")
    with pytest.raises(UsersFileError) as err:
        read_users(path)
    message = str(err.value)
    assert message.startswith(f"users file {path}, line {line}: ") and problem in message
    assert "\n" not in message and GOOD_HASH not in message


@pytest.mark.parametrize("content, problem", [
    (None, "not found"),
    (b"# nobody yet\n", "holds no user"),
    (b"\xff\xfe:x\n", "line 1: not UTF-8"),
])
def test_unusable_users_file(tmp_path, content, problem):
    path = tmp_path / "users"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UsersFileError, match=problem):
        read_users(path)


def test_add_user_writes_a_private_file_and_keeps_other_lines(tmp_path):
    path = tmp_path / "users"
    path.write_text(f"# our team\nbob:{GOOD_HASH}\n")
    path.chmod(0o644)
    assert add_user(path, "alice", "password1", cost=CHEAP) is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert lines[:2] == ["# our team", f"bob:{GOOD_HASH}"] and lines[2].startswith("alice:scrypt$")
    assert list(read_users(path)) == ["bob", "alice"]
    assert [p.name for p in tmp_path.iterdir()] == ["users"]  # no temporary file left


def test_existing_user_is_replaced_only_with_force(tmp_path):
    path = tmp_path / "users"
    add_user(path, "alice", "password1", cost=CHEAP)
    before = path.read_text()
    with pytest.raises(UsersFileError, match="user alice exists .*--force"):
        add_user(path, "alice", "password2", cost=CHEAP)
    assert path.read_text() == before
    assert add_user(path, "alice", "password2", force=True, cost=CHEAP) is True
    users = UserDirectory.load(path)
    assert users.verify("alice", "password2") and not users.verify("alice", "password1")


@pytest.mark.parametrize("name, password, problem", [
    ("al ice", "password1", "user name"),
    ("", "password1", "user name"),
    ("a" * 65, "password1", "user name"),
    ("alice", "short", "at least 8 characters"),
    ("alice", "two\nlines!", "line break"),
])
def test_add_user_refuses_bad_names_and_passwords(tmp_path, name, password, problem):
    with pytest.raises(UsersFileError, match=problem):
        add_user(tmp_path / "users", name, password, cost=CHEAP)
    assert not (tmp_path / "users").exists()


def test_malformed_file_is_not_overwritten_by_add(tmp_path):
    path = tmp_path / "users"
    path.write_text("garbage\n")
    with pytest.raises(UsersFileError, match="line 1"):
        add_user(path, "alice", "password1", cost=CHEAP)
    assert path.read_text() == "garbage\n"


def test_directory_verifies_known_users_only_and_fingerprints_change_with_the_password(tmp_path):
    users = UserDirectory({"alice": hash_password("password1", CHEAP)})
    assert users.verify("alice", "password1")
    assert not users.verify("alice", "password2") and not users.verify("mallory", "password1")
    assert not users.verify("alice", "x" * 5000)
    assert users.fingerprint("mallory") is None
    renewed = UserDirectory({"alice": hash_password("password1", CHEAP)})
    assert users.fingerprint("alice") != renewed.fingerprint("alice")
