"""Independent readers of nep.in and extended XYZ text, for benchmarks/fuzz_readers.py.

Each says what a file holds the way GPUMD reads it, written separately from
gpunep's readers so that the fuzzer compares two readings, not one with
itself. Numbers are what C's ``strtod``/``strtol`` read in full: ASCII
digits, an optional sign, decimal point and exponent, and (reals only)
``nan``/``inf``/``infinity``; Python's extras (``1_000``, non-ASCII digits,
``True``) are not numbers here.

An oracle returns :data:`OUTSIDE` for text it does not claim to understand
(the fuzzer counts those cases as accepted but unchecked) and raises
:class:`NotANumber` where GPUMD would refuse the file, naming the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
_REAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:nan|inf|infinity)",
                   re.ASCII | re.IGNORECASE)
_ASCII_SPACE = re.compile(r"[ \t\v\f\r]+")  # C's isspace, bar the newline
OUTSIDE = object()
"""An oracle's answer for text outside what it understands."""


class NotANumber(ValueError):
    """A field GPUMD reads as a number holds something else: GPUMD refuses the file."""


class WordAsNumber(NotANumber):
    """A field GPUMD reads as a number holds a word Python makes a number of (``T`` is 1.0)."""


_WORDS = {"t", "f", "true", "false"}


def real(token: str, what: str) -> float:
    """``token`` as GPUMD's strtod reads it in full, or :class:`NotANumber`."""
    if not _REAL.fullmatch(token):
        raise (WordAsNumber if token.lower() in _WORDS else NotANumber)(f"{what}: {token!r}")
    return float(token)


def integer(token: str, what: str) -> int:
    if not _INTEGER.fullmatch(token):
        raise NotANumber(f"{what}: {token!r}")
    return int(token)


def split(line: str) -> list[str]:
    """Tokens separated by ASCII blanks, as C++ stream extraction splits them (not NBSP etc.)."""
    return [token for token in _ASCII_SPACE.split(line) if token]


def same(a, b) -> bool:
    """Equal values, NaN equal to NaN, of the same kind (int, float, str)."""
    if isinstance(a, list) or isinstance(b, list):
        return isinstance(a, list) and isinstance(b, list) and len(a) == len(b) and all(
            same(x, y) for x, y in zip(a, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


# ------------------------------------------------------------------ nep.in
def nepfile_value(token: str) -> int | float | str:
    """A nep.in value: an integer, else a real, else a word."""
    if _INTEGER.fullmatch(token):
        return int(token)
    if _REAL.fullmatch(token):
        return float(token)
    return token


def nepfile(text: str) -> dict | object:
    """``{keyword: value or [values]}`` of a nep.in, or OUTSIDE (a repeated or bare keyword)."""
    params: dict = {}
    for line in text.split("\n"):
        tokens = split(line.removesuffix("\r").split("#", 1)[0])
        if not tokens:
            continue
        if tokens[0] in params or len(tokens) == 1:
            return OUTSIDE  # gpunep refuses these with an error naming the lines
        values = [nepfile_value(token) for token in tokens[1:]]
        params[tokens[0]] = values[0] if len(values) == 1 else values
    return params


# ------------------------------------------------------------------ extxyz
@dataclass
class Frame:
    """What one frame holds (NaN where a reference value is absent)."""

    symbols: list[str]
    positions: np.ndarray
    cell: np.ndarray
    pbc: list[bool]
    energy: float
    forces: np.ndarray
    virial: np.ndarray
    virial_from_stress: bool


_KEY_VALUE = re.compile(r'[ \t]*([A-Za-z_][A-Za-z0-9_]*)=("[^"=\\\'\n]*"|[^\s"\'=\\]+)[ \t]*')
_KNOWN_PROPERTIES = {("species", "S", "1"), ("pos", "R", "3"), ("force", "R", "3"), ("forces", "R", "3")}
_BOOLEANS = {"T": True, "F": False}
_GPUMD_SIX = ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (2, 0))  # virial: xx yy zz xy yz zx
_VOIGT_SIX = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))  # stress: xx yy zz yz xz xy


def comment_pairs(comment: str) -> dict | object:
    """The ``key=value`` pairs of a comment line (quotes removed), or OUTSIDE."""
    pairs, position = {}, 0
    while position < len(comment):
        match = _KEY_VALUE.match(comment, position)
        if not match or match.end() == position:
            return OUTSIDE
        key, value = match.group(1), match.group(2).strip('"')
        if key.lower() in {k.lower() for k in pairs}:
            return OUTSIDE
        pairs[key] = value
        position = match.end()
    return pairs


def _reals(value: str, what: str) -> np.ndarray:
    return np.array([real(token, what) for token in split(value)])


def _tensor(value: str, order, what: str) -> np.ndarray:
    values = _reals(value, what)
    if values.size == 9:
        return values.reshape(3, 3)
    if values.size != 6:
        raise NotANumber(f"{what}: {values.size} components")
    matrix = np.empty((3, 3))
    for v, (i, j) in zip(values, order):
        matrix[i, j] = matrix[j, i] = v
    return matrix


def _columns(properties: str) -> list[tuple[str, int]] | object:
    fields = properties.split(":")
    triples = list(zip(fields[0::3], fields[1::3], fields[2::3]))
    if len(fields) % 3 or not set(triples) <= _KNOWN_PROPERTIES or triples[:2] != [
            ("species", "S", "1"), ("pos", "R", "3")] or len({t[0] for t in triples}) != len(triples):
        return OUTSIDE
    return [(name, int(width)) for name, _, width in triples]


def frame(comment: str, atom_lines: list[str]) -> Frame | object:
    """One frame from its comment and atom lines; OUTSIDE where the oracle does not follow."""
    pairs = comment_pairs(comment.strip())
    if pairs is OUTSIDE or set(pairs) - {"Lattice", "Properties", "energy", "virial", "stress",
                                         "config_type", "pbc"} or not {"Lattice", "Properties"} <= set(pairs):
        return OUTSIDE
    columns = _columns(pairs["Properties"])
    pbc_tokens = split(pairs.get("pbc", "T T T"))
    if columns is OUTSIDE or len(pbc_tokens) != 3 or not set(pbc_tokens) <= set(_BOOLEANS):
        return OUTSIDE
    cell = _reals(pairs["Lattice"], "Lattice")
    if cell.size != 9:
        raise NotANumber(f"Lattice: {cell.size} components")
    symbols, table = [], []
    for line in atom_lines:
        tokens = split(line)
        if len(tokens) != sum(width for _, width in columns):
            raise NotANumber("atom line: wrong number of columns")
        if not re.fullmatch(r"[A-Z][a-z]?", tokens[0]):
            return OUTSIDE
        symbols.append(tokens[0])
        table.append([real(token, "atom column") for token in tokens[1:]])
    table = np.array(table, dtype=np.float64).reshape(len(atom_lines), -1)
    forces = table[:, 3:6] if len(columns) == 3 else np.full((len(atom_lines), 3), np.nan)
    energy = real(pairs["energy"], "energy") if "energy" in pairs else math.nan
    if "virial" in pairs:
        virial, from_stress = _tensor(pairs["virial"], _GPUMD_SIX, "virial"), False
    elif "stress" in pairs:
        stress = _tensor(pairs["stress"], _VOIGT_SIX, "stress")
        if not np.array_equal(stress, stress.T):
            return OUTSIDE  # ASE keeps a stress as six Voigt components: what an asymmetric one means is open
        virial, from_stress = -stress * abs(np.linalg.det(cell.reshape(3, 3))), True
    else:
        virial, from_stress = np.full((3, 3), np.nan), False
    return Frame(symbols, table[:, :3], cell.reshape(3, 3), [_BOOLEANS[t] for t in pbc_tokens],
                 energy, forces, virial, from_stress)


def extxyz(text: str) -> list[Frame] | object:
    """Every frame of an extxyz text, or OUTSIDE; raises NotANumber where GPUMD refuses."""
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    frames, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        n_atoms = integer(split(lines[i])[0], "atom count")
        if n_atoms < 0 or i + 1 + n_atoms >= len(lines) or any("\r" in line for line in lines[i:i + 2 + n_atoms]):
            return OUTSIDE  # truncated frames are refused; stray carriage returns not followed
        parsed = frame(lines[i + 1], lines[i + 2:i + 2 + n_atoms])
        if parsed is OUTSIDE:
            return OUTSIDE
        frames.append(parsed)
        i += 2 + n_atoms
    return frames
