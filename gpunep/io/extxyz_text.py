"""The text of one extxyz frame checked as GPUMD's C++ reader takes it, before ASE parses it.

ASE splits at every blank Python knows (NBSP, U+2028, ``\\x1c`` ...) and
reads numbers with Python's ``int()``/``float()``, which also take
``1_000``, non-ASCII digits and, in the comment line, ``T``/``F`` (as 1 and
0). GPUMD splits at C's blanks only and reads numbers in C's decimal forms
(:mod:`gpunep.model.c_text`). The checks here refuse what the two read
differently, naming the file, frame and line, and check what ASE does not:
complete ``Properties=`` triples and the declared number of columns on
every atom line (docs/file-formats.md#text-as-gpumd-reads-it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Iterator

import numpy as np

from gpunep.model.c_text import (C_BLANKS, C_INTEGER, C_REAL, describe_character, other_blank,
                                 split_blanks)

NUMERIC_KEYS = ("energy", "virial", "virials", "stress", "Lattice", "charge", "dipole", "pol")
"""Comment-line keys gpunep reads as numbers."""

_DIGIT_GROUPS = re.compile(r"[0-9]_[0-9]")  # what Python's int() and float() read as 1000 in 1_000
_CLOSING = {'"': '"', "'": "'", "{": "}", "[": "]"}
_NUMERIC_TYPES = {"R": (C_REAL, "a real number"), "I": (C_INTEGER, "an integer")}


def atom_count(header: str) -> int | None:
    """The atom count opening a frame's first line, or None where it is not a whole number >= 0."""
    tokens = split_blanks(header)
    return int(tokens[0]) if tokens and C_INTEGER.fullmatch(tokens[0]) and int(tokens[0]) >= 0 else None


def min_bytes(n_lines: int, columns: int) -> int:
    """The fewest bytes ``n_lines`` lines of ``columns`` tokens take: a character per token,
    a blank or newline after each, the last newline optional."""
    return max(0, 2 * columns * n_lines - 1)


def refuse_other_blank(text: str, path: Path, line: int) -> None:
    """Refuse a blank that Python splits at and GPUMD does not; ``text`` holds whole lines,
    the first of them line ``line``."""
    at = other_blank(text)
    if at is None:
        return
    line_start = text.rfind("\n", 0, at) + 1
    number = line + text.count("\n", 0, at)
    raise ValueError(f"{path}, line {number}, column {at - line_start + 1}: "
                     f"{describe_character(text[at])} is a blank to Python (and ASE) but not to GPUMD, "
                     "which reads it as part of a token; write a space instead")


def comment_values(comment: str) -> dict[str, str | None]:
    """The ``key=value`` pairs of a comment line, values as written (quotes and escapes
    removed, nothing converted; None for a bare key), split as ASE's extxyz reader splits
    them: blanks separate pairs, quotes and brackets group, a backslash escapes."""
    pairs: list[list[str]] = [[""]]
    closing, escaped = None, False
    for char in comment.strip(C_BLANKS):
        if escaped:
            pairs[-1][-1] += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif closing:
            if char == closing:
                closing = None
            else:
                pairs[-1][-1] += char
        elif char in _CLOSING:
            closing = _CLOSING[char]
        elif char in C_BLANKS:
            if pairs[-1][-1]:
                pairs.append([""])
        elif char == "=":
            if pairs[-1] == [""] and len(pairs) > 1:  # "key =value": the value is key's
                pairs.pop()
            pairs[-1].append("")
        else:
            pairs[-1][-1] += char
    return {pieces[0]: "=".join(pieces[1:]) if len(pieces) > 1 else None
            for pieces in pairs if pieces != [""]}


def check_comment_numbers(comment: str, parsed: dict | None, path: Path, line: int, frame: int) -> None:
    """Every value of :data:`NUMERIC_KEYS` in the comment line ``comment`` (line ``line``) is
    numbers in C's forms, not ``T``, ``1_000`` ...; ``parsed`` is ASE's reading of the line
    (None where ASE failed)."""
    # In ASCII text without 1_0 or ',' Python reads a number exactly when C does, and the
    # words ASE takes for values (T, F, True ...) it makes truth values: only otherwise is
    # the slower scan of the line's characters needed, to name the token.
    if (parsed is not None and comment.isascii() and not _DIGIT_GROUPS.search(comment) and "," not in comment
            and not any(np.asarray(parsed[key]).dtype.kind == "b" for key in NUMERIC_KEYS if key in parsed)):
        return
    for key, value in comment_values(comment).items():
        if key not in NUMERIC_KEYS:
            continue
        where = f"{path}, line {line}: frame {frame}: {key}"
        if value is None:
            raise ValueError(f"{where} has no value (ASE would read the bare key as True)")
        for token in split_blanks(value):
            if not C_REAL.fullmatch(token):
                raise ValueError(f"{where}={value!r}: {token!r} is not a number as GPUMD reads one "
                                 "(ASCII digits with an optional sign, point and exponent; "
                                 "T and F are truth values, not 1 and 0)")


@dataclass(frozen=True)
class Columns:
    """The columns ``Properties=`` declares: its text and ``(type, width)`` per property
    (type S, R, I or L)."""

    properties: str
    widths: tuple[tuple[str, int], ...]
    count: int
    """The number of columns of an atom line."""

    def kinds(self) -> Iterator[str]:
        """Each column's type, in order."""
        return chain.from_iterable(repeat(kind, width) for kind, width in self.widths)


def declared_columns(properties: str, path: Path, line: int, frame: int) -> Columns:
    """The columns of ``Properties=`` (``name:type:width`` triples), checked.

    ASE itself reads a triple without its width without complaint.
    """
    fields = properties.split(":")
    where = f"{path}, line {line}: frame {frame}: Properties={properties}"
    if len(fields) % 3:
        raise ValueError(f"{where} is not a list of name:type:width triples "
                         "(e.g. species:S:1:pos:R:3:force:R:3)")
    names = fields[0::3]
    for name, kind, width in zip(names, fields[1::3], fields[2::3]):
        if kind not in ("S", "R", "I", "L"):
            raise ValueError(f"{where}: {name!r} has type {kind!r}, not one of S, R, I, L")
        if not (width.isdigit() and int(width) > 0):
            raise ValueError(f"{where}: {name!r} has width {width!r}, not a positive whole number")
    if "pos" not in names or not {"species", "Z"} & set(names):
        raise ValueError(f"{where} lacks 'pos' or 'species'")
    widths = tuple((kind, int(width)) for kind, width in zip(fields[1::3], fields[2::3]))
    return Columns(properties, widths, sum(width for _, width in widths))


def check_atom_lines(columns: Columns, atom_lines: list[str], path: Path, first: int,
                     frame: int) -> list[list[str]]:
    """Each atom line (the first is line ``first``) has the declared columns, and its real and
    integer columns hold numbers in C's forms; returns the lines' tokens. ASE reads lines
    with too few or too many columns without complaint (e.g. all positions zero)."""
    text = "".join(atom_lines)
    refuse_other_blank(text, path, first)
    # only non-ASCII characters and '_' make Python read a number C does not
    plain = text.isascii() and "_" not in text
    rows = []
    for k, atom_line in enumerate(atom_lines):
        tokens = atom_line.split()  # no blanks but C's remain, so this is C's split
        rows.append(tokens)
        if len(tokens) != columns.count:
            raise ValueError(f"{path}, line {first + k}: frame {frame}, atom {k}: {len(tokens)} columns, "
                             f"but Properties={columns.properties} declares {columns.count}")
        if plain:
            continue
        for column, (token, kind) in enumerate(zip(tokens, columns.kinds())):
            pattern, what = _NUMERIC_TYPES.get(kind, (None, ""))
            if pattern is not None and not pattern.fullmatch(token):
                raise ValueError(f"{path}, line {first + k}: frame {frame}, atom {k}, column "
                                 f"{column + 1}: {token!r} is not {what} as GPUMD reads one "
                                 "(ASCII digits with an optional sign, point and exponent)")
    return rows
