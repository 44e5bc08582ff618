"""Saving files: complete or not at all, with the permissions any other file would get."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pytest

from digiknow_desk.services.files import SaveFailed, write_atomically


def test_the_file_appears_complete_with_ordinary_permissions(tmp_path: Path) -> None:
    out = tmp_path / "labels.pdf"
    write_atomically(out, lambda stream: stream.write(b"%PDF-1.4 whole"))
    plain = tmp_path / "plain.txt"
    plain.write_bytes(b"")
    assert out.read_bytes() == b"%PDF-1.4 whole"
    assert out.stat().st_mode == plain.stat().st_mode  # not private like tempfile's 0600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["labels.pdf", "plain.txt"]


def test_a_failure_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "devices.csv"
    out.write_bytes(b"the old export")

    def fails_halfway(stream: BinaryIO) -> None:
        stream.write(b"half")
        raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError):
        write_atomically(out, fails_halfway)
    assert out.read_bytes() == b"the old export"
    assert [path.name for path in tmp_path.iterdir()] == ["devices.csv"]


def test_a_missing_folder_is_refused_in_plain_words(tmp_path: Path) -> None:
    with pytest.raises(SaveFailed, match="does not exist; choose another place"):
        write_atomically(tmp_path / "nowhere" / "x.pdf", lambda stream: None)


def test_a_file_system_error_becomes_a_message(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a folder where the file should go: replacing it fails on every system
    (target / "inside").write_bytes(b"keep")
    with pytest.raises(SaveFailed, match="Could not save .*choose another folder"):
        write_atomically(target, lambda stream: stream.write(b"new"))
    assert (target / "inside").read_bytes() == b"keep"
    assert [path.name for path in tmp_path.iterdir()] == ["taken"]
