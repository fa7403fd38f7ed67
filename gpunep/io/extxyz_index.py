"""Frame boundaries of an extxyz file, found without parsing a frame, for reads in ranges.

A process that hands an extxyz file out to others in pieces (the Dask
front end, :mod:`gpunep.distributed`) scans it once for where each frame
starts: it reads the atom-count lines and skips the others, line by line,
so its memory does not grow with the file and no frame is parsed. Each
:class:`FrameRange` is then read where the work happens, with the same
reader and the same frame and line labels as a read of the whole file.

A frame whose atom count does not parse, or that the file ends inside of,
ends the scan: the last range then reaches to the end of the file, and
whoever reads it gets the reader's own error naming the file, frame and line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from gpunep.io.extxyz import _EXTXYZ_SUFFIXES, _iter_extxyz
from gpunep.io.extxyz_text import atom_count, min_bytes
from gpunep.model.c_text import C_BLANKS, strip_byte_order_marks

if TYPE_CHECKING:
    from ase import Atoms


@dataclass(frozen=True)
class FrameStart:
    """Where one frame starts.

    Attributes
    ----------
    offset : byte offset of its atom-count line
    frame : its index in the file (0-based)
    line_number : the number of lines before it
    n_atoms : its atom count, or None where the frame is not well formed
        (the reader will say why)
    """

    offset: int
    frame: int
    line_number: int
    n_atoms: int | None


@dataclass(frozen=True)
class FrameRange:
    """Consecutive frames of an extxyz file: ``n_frames`` of them from ``first``
    (None: to the end of the file)."""

    path: str
    first: FrameStart
    n_frames: int | None

    def read(self) -> Iterator[tuple[str, "Atoms"]]:
        """The range's structures, labelled as :func:`gpunep.io.extxyz.iter_labelled` labels them."""
        return _iter_extxyz(Path(self.path), self.first.offset, self.first.frame,
                            self.first.line_number, self.n_frames)


def is_extxyz(path: str | os.PathLike) -> bool:
    """Whether ``path`` is read as extxyz (by its suffix, as :func:`~gpunep.io.extxyz.iter_labelled`)."""
    return Path(path).suffix.lower() in _EXTXYZ_SUFFIXES


def frame_starts(path: str | os.PathLike) -> Iterator[FrameStart]:
    """Where every frame of the extxyz file ``path`` starts, in file order.

    Blank lines between frames are skipped as the reader skips them. The
    last item has ``n_atoms=None`` when a frame is not well formed.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    with open(path, "rb") as handle:
        line_number = 0
        frame = 0
        while True:
            offset = handle.tell()
            header = _header_text(handle.readline(), offset)
            if header is None:
                return
            if not header.strip(C_BLANKS):
                line_number += 1
                continue
            n_atoms = atom_count(header)
            # a count the rest of the file cannot hold ends the scan before a line is read
            fits = n_atoms is not None and _bytes_left(handle) >= min_bytes(n_atoms, 1)
            skipped = sum(1 for _ in islice(handle, n_atoms + 1)) if fits else 0
            if not fits or skipped < n_atoms + 1:
                yield FrameStart(offset, frame, line_number, None)
                return
            yield FrameStart(offset, frame, line_number, n_atoms)
            line_number += 2 + n_atoms
            frame += 1


def _header_text(raw: bytes, offset: int) -> str | None:
    """A frame's first line as the reader decodes it (None at the end of the file); text
    that is not UTF-8 reads as no count, for the reader to report."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    return strip_byte_order_marks(text) if offset == 0 else text


def _bytes_left(handle) -> int:
    return os.fstat(handle.fileno()).st_size - handle.tell()
