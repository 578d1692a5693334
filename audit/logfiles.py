"""Log files as the parser reads them: gzip or plain, known by their first line, resumed at an offset.

The database side remembers, per file, ``(file_identity(path), offset)`` and resumes with
:func:`read_blocks` (or :func:`read_from`, line by line), so re-reading a file, or a rotated file plus its
successor, never counts a line twice.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterator
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO

from audit.events import DEFAULT_TZ

IDENTITY_LIMIT = 64 * 1024  # a first line longer than this is identified by its first 64 KiB
GZIP_MAGIC = b"\x1f\x8b"
BLOCK_BYTES = 1 << 20  # read_blocks reads this much at a time


class LogFileError(ValueError):
    """A remembered offset does not fit the file: it was rewritten or truncated under the same identity."""


def open_log(path: Path | str) -> IO[bytes]:
    """The file's bytes, decompressed if it is gzip; decided by its magic bytes, since rotation names vary."""
    with open(path, "rb") as probe:
        magic = probe.read(2)
    if magic == GZIP_MAGIC:
        return gzip.open(path, "rb")
    return open(path, "rb")  # the caller closes it


def file_identity(path: Path | str) -> str:
    """A hash of the first (decompressed) line: survives ``mail.log`` → ``mail.log.1`` → ``mail.log.2.gz``.

    ``""`` while the file has no complete line (empty, or its first line still being written): there is
    nothing to read yet, and so the identity never changes under a remembered offset.
    """
    with open_log(path) as fh:
        first = fh.readline(IDENTITY_LIMIT)
    if not first.endswith(b"\n") and len(first) < IDENTITY_LIMIT:
        return ""
    return hashlib.sha256(first).hexdigest()


def file_reference_time(path: Path | str, tz: tzinfo = DEFAULT_TZ) -> datetime:
    """The file's mtime: the last time a line went in, which fixes the year of classic syslog lines."""
    return datetime.fromtimestamp(Path(path).stat().st_mtime, tz)


def _resume(fh: IO[bytes], offset: int, path: Path | str) -> None:
    """Position ``fh`` at ``offset``, which must lie just after a newline (or be 0)."""
    if offset:
        fh.seek(offset - 1)  # a gzip file decompresses up to there
        if fh.read(1) != b"\n":
            raise LogFileError(f"{path}: offset {offset} is not at the end of a line of this file")


def read_from(path: Path | str, offset: int = 0) -> tuple[Iterator[str], Callable[[], int]]:
    """Lines (without their newline) from a decompressed byte offset, and a way to learn where they ended.

    The second value, called at any time, gives the offset just after the last line handed out; remember it
    with :func:`file_identity` to resume later. A last line without a newline is not handed out: the
    program may still be writing it. Invalid UTF-8 is replaced, never fatal. Raises :class:`LogFileError`
    (when iteration starts) if ``offset`` does not fall just after a newline of this file.
    """
    position = [offset]

    def lines() -> Iterator[str]:
        with open_log(path) as fh:
            _resume(fh, offset, path)
            pos = offset
            for raw in fh:
                if not raw.endswith(b"\n"):
                    return
                pos += len(raw)
                position[0] = pos
                yield raw[:-1].decode("utf-8", "replace")

    return lines(), lambda: position[0]


def read_blocks(
    path: Path | str, offset: int = 0, *, size: int = BLOCK_BYTES
) -> tuple[Iterator[str], Callable[[], int]]:
    """Like :func:`read_from`, but hands out blocks of whole lines (each ending with a newline), for speed.

    Decoding a megabyte at a time costs a fraction of decoding line by line. The offset is that after the
    last block handed out: store it once the parser has been through the whole block.
    """
    raw, where = read_raw_blocks(path, offset, size=size)
    return (decode_block(data) for data in raw), where


def read_raw_blocks(
    path: Path | str, offset: int = 0, *, size: int = BLOCK_BYTES
) -> tuple[Iterator[bytes], Callable[[], int]]:
    """The blocks of :func:`read_blocks` still undecoded (for a worker process to decode and read)."""
    position = [offset]

    def blocks() -> Iterator[bytes]:
        with open_log(path) as fh:
            _resume(fh, offset, path)
            pos = offset
            pending = b""
            while chunk := fh.read(size):
                data = pending + chunk if pending else chunk
                cut = data.rfind(b"\n") + 1
                pending = data[cut:]
                if cut:
                    pos += cut
                    position[0] = pos
                    yield data[:cut]

    return blocks(), lambda: position[0]


def decode_block(data: bytes) -> str:
    """A block's text; invalid UTF-8 is replaced, never fatal."""
    return data.decode("utf-8", "replace")
