"""Text as GPUMD's C++ readers take it: tokens split at ASCII blanks, numbers in C's decimal forms.

GPUMD splits lines with C++ stream extraction, which stops only at the six
blanks of C's ``isspace`` (space, tab, newline, vertical tab, form feed,
carriage return), and reads numbers with ``strtod``/``stoi``. Python's
``str.split()`` also splits at NBSP, U+2028, ``\\x1c`` ..., and its
``int()``/``float()`` also read ``1_000`` and non-ASCII digits (``١٢``,
``１２``): text GPUMD reads differently or refuses. gpunep's readers use the
rules here so that a file means to gpunep what it means to GPUMD
(docs/file-formats.md#text-as-gpumd-reads-it).
"""

from __future__ import annotations

import re

C_BLANKS = " \t\n\v\f\r"
"""The blanks of C's ``isspace`` in the C locale."""

_C_BLANK_RUNS = re.compile(f"[{re.escape(C_BLANKS)}]+")
_OTHER_BLANK = re.compile(f"[^\\S{re.escape(C_BLANKS)}]")
_ASCII_OTHER_BLANKS = "\x1c\x1d\x1e\x1f"  # the information separators
_BYTE_ORDER_MARK = "\ufeff"

C_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)
"""An integer as ``strtol``/``stoi`` read it in full (ASCII digits, an optional sign)."""

C_DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", re.ASCII)
"""A finite real in the decimal form ``strtod`` reads in full (hexadecimal forms aside)."""

C_REAL = re.compile(rf"{C_DECIMAL.pattern}|[+-]?(nan|inf|infinity)", re.ASCII | re.IGNORECASE)
"""A real ``strtod`` reads in full: a decimal form, or ``nan``/``inf``/``infinity``."""


def split_blanks(text: str) -> list[str]:
    """The tokens of ``text`` separated by C's blanks only (a NBSP stays inside its token)."""
    return [token for token in _C_BLANK_RUNS.split(text) if token]


def other_blank(text: str) -> int | None:
    """The index of the first character Python takes for a blank and C does not, or None."""
    if text.isascii() and not any(separator in text for separator in _ASCII_OTHER_BLANKS):
        return None  # the common case, found at C speed (the regular expression is slower)
    match = _OTHER_BLANK.search(text)
    return None if match is None else match.start()


def describe_character(char: str) -> str:
    """``char`` for an error message: its code point and, if it prints, itself."""
    shown = f" {char!r}" if char.isprintable() and not char.isspace() else ""
    return f"U+{ord(char):04X}{shown}"


def strip_byte_order_marks(text: str) -> str:
    """``text`` without the byte order marks that open it (an editor may have added one
    to a file that already had one, read as text)."""
    return text.lstrip(_BYTE_ORDER_MARK)
