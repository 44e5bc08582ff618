"""Saving files the safe way: complete or not at all, with the usual permissions, errors in plain words."""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import BinaryIO

from digiknow_desk.domain.errors import DomainError


class SaveFailed(DomainError):
    """A file could not be saved; nothing was left half-written."""


def check_folder(out: Path) -> None:
    """Refuse, before anything is written, a file whose folder does not exist."""
    folder = out.expanduser().parent
    if not folder.is_dir():
        raise SaveFailed(f"The folder {folder} does not exist; choose another place to save.")


def write_atomically(out: Path, write: Callable[[BinaryIO], object]) -> None:
    """Call `write` with a binary stream for a file beside `out`, then move it into place.

    A failure, a cancel or a crash leaves `out` as it was. Not tempfile.mkstemp: its files are
    private (0600), and staff expect to share what they save.
    """
    out = out.expanduser()
    check_folder(out)
    temporary = out.parent / f".{out.name}.{uuid.uuid4().hex}.tmp"
    try:
        handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, out)
    except OSError as error:
        raise SaveFailed(
            f"Could not save {out}: {error.strerror or error}. Close it if another program has it open, "
            "or choose another folder."
        ) from error
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(out: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a CSV file (UTF-8 with the mark Excel looks for) the safe way of `write_atomically`.
    The cells must already be spreadsheet-safe."""

    def write(stream: BinaryIO) -> None:
        text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        text.flush()
        text.detach()  # the stream stays open for write_atomically to sync and close

    write_atomically(out, write)
