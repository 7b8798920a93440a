"""Whole-file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from jupyter_mlops.atomic_files import write_atomic


def test_text_and_bytes_replace_the_target_and_leave_nothing_beside_it(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "folder" / "lock.toml"
    assert write_atomic(target, "first é\n") == target
    assert target.read_text(encoding="utf-8") == "first é\n"
    write_atomic(target, b"\x00second")
    assert target.read_bytes() == b"\x00second"
    assert [p.name for p in target.parent.iterdir()] == ["lock.toml"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "cache.json"
    write_atomic(target, "old")
    with pytest.raises(TypeError):
        write_atomic(target, 42)  # type: ignore[arg-type]  # not text nor bytes: fails mid-write
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["cache.json"]


def test_a_folder_in_the_way_is_an_os_error_with_no_temporary_left(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    with pytest.raises(OSError):
        write_atomic(target, "x")
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_a_private_file_is_the_owners_alone_from_its_creation(tmp_path: Path) -> None:
    target = tmp_path / "token"
    write_atomic(target, "secret", private=True)
    assert target.read_text() == "secret"
    assert target.stat().st_mode & 0o777 == 0o600
    umask = os.umask(0o022)
    os.umask(umask)
    write_atomic(tmp_path / "shared", "x")  # an ordinary file follows the umask, as open() does
    assert (tmp_path / "shared").stat().st_mode & 0o777 == 0o666 & ~umask
