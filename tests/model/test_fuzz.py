"""Fuzzing the nep.txt and nep.restart parsers with hypothesis.

Small valid files written by our own writer are mutated (header tokens
replaced, files truncated, garbage lines inserted, tokens swapped, lines
deleted or duplicated, characters replaced). Two properties must hold:

* the reader raises nothing but our own ``ModelFileError`` (a ValueError
  naming the file) — never an IndexError, KeyError or AssertionError;
* a mutated file that still parses gives a model holding exactly the numbers
  of that file (read independently here), which writes back to the same
  numbers: no silently wrong model.

Examples are derandomized so CI is reproducible; raise ``max_examples`` and
drop ``derandomize`` locally to search harder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fuzz_checks import (BASES, KEYWORDS, NUMBERS, RESTART_BASE, base_text, check_model_exact,
                         check_restart_exact, restart_text)
from gpunep.errors import ModelFileError
from gpunep.model import read_model

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

_WORKDIR = Path(tempfile.mkdtemp(prefix="gpunep-fuzz-"))


def _base_text(name: str) -> str:
    return base_text(name, _WORKDIR)


# ------------------------------------------------------------------ mutations
tokens = st.one_of(st.sampled_from(NUMBERS + KEYWORDS), st.text(max_size=6))
garbage_line = st.one_of(st.sampled_from(NUMBERS + KEYWORDS + ["", " ", "ANN 2 0"]),
                         st.text(max_size=12),
                         st.lists(tokens, min_size=1, max_size=4).map(" ".join))


@st.composite
def mutation(draw, lines: list[str]) -> list[str]:
    lines = list(lines)
    header = 8 if len(lines) > 8 else len(lines)
    kind = draw(st.sampled_from(["header_token", "truncate", "garbage", "swap", "delete",
                                 "duplicate", "char", "drop_header_token", "add_header_token"]))
    if not lines:
        return [draw(garbage_line)]
    if kind == "header_token" or kind == "drop_header_token" or kind == "add_header_token":
        i = draw(st.integers(0, header - 1))
        parts = lines[i].split()
        j = draw(st.integers(0, max(len(parts) - 1, 0)))
        if kind == "header_token" and parts:
            parts[j] = draw(tokens)
        elif kind == "drop_header_token" and parts:
            del parts[j]
        else:
            parts.insert(j, draw(tokens))
        lines[i] = " ".join(parts)
    elif kind == "truncate":
        text = "\n".join(lines)
        cut = draw(st.integers(0, len(text)))
        lines = text[:cut].split("\n")
    elif kind == "garbage":
        lines.insert(draw(st.integers(0, len(lines))), draw(garbage_line))
    elif kind == "swap":
        # Two whitespace-separated tokens anywhere (mostly the header, where it matters).
        flat = [(i, j) for i, line in enumerate(lines[:header + 3]) for j in range(len(line.split()))]
        if len(flat) >= 2:
            (i1, j1), (i2, j2) = draw(st.lists(st.sampled_from(flat), min_size=2, max_size=2))
            rows = [line.split() for line in lines]
            rows[i1][j1], rows[i2][j2] = rows[i2][j2], rows[i1][j1]
            lines[i1], lines[i2] = " ".join(rows[i1]), " ".join(rows[i2])
    elif kind == "delete":
        del lines[draw(st.integers(0, len(lines) - 1))]
    elif kind == "duplicate":
        i = draw(st.integers(0, len(lines) - 1))
        lines.insert(draw(st.integers(0, len(lines))), lines[i])
    else:
        i = draw(st.integers(0, len(lines) - 1))
        if lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            char = draw(st.sampled_from(list("0123456789.-+eE x\t")) | st.characters())
            lines[i] = lines[i][:j] + char + lines[i][j + 1:]
    return lines


@st.composite
def mutated_file(draw) -> tuple[str, str]:
    name = draw(st.sampled_from(sorted(BASES)))
    lines = _base_text(name).split("\n")
    for _ in range(draw(st.integers(1, 3))):
        lines = draw(mutation(lines))
    return name, "\n".join(lines)


@FUZZ
@given(case=mutated_file())
def test_mutated_model_files(case, tmp_path_factory):
    name, text = case
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "nep.txt"
    path.write_text(text, encoding="utf-8")
    try:
        model = read_model(path)
    except ModelFileError as error:
        assert str(error).startswith(str(path))
        assert error.line is None or 1 <= error.line <= len(text.split("\n")) + 1
        return
    check_model_exact(model, text, folder / "out.txt")


@FUZZ
@given(name=st.sampled_from(sorted(BASES)), cut=st.floats(0, 1))
def test_truncated_model_files(name, cut, tmp_path_factory):
    """Every prefix of a valid file is refused with a ModelFileError, or is the whole file."""
    text = _base_text(name)
    prefix = text[:int(cut * len(text))]
    path = tmp_path_factory.mktemp("cut") / "nep.txt"
    path.write_text(prefix)
    try:
        model = read_model(path)
    except ModelFileError:
        return
    # Only a cut inside the last number's line or its newline can still parse.
    assert len(prefix) > len(text) - 17
    check_model_exact(model, prefix, path.parent / "out.txt")


# -------------------------------------------------------------------- restart
@FUZZ
@given(data=st.data())
def test_mutated_restart_files(data, tmp_path_factory):
    lines = restart_text().split("\n")
    for _ in range(data.draw(st.integers(1, 3))):
        lines = data.draw(mutation(lines))
    text = "\n".join(lines)
    folder = tmp_path_factory.mktemp("restart")
    path = folder / "nep.restart"
    path.write_text(text, encoding="utf-8")
    model = RESTART_BASE.copy()
    try:
        model.read_restart(path)
    except ModelFileError as error:
        assert str(error).startswith(str(path))
        assert model.restart_parameters is None
        return
    check_restart_exact(model, text, folder)
