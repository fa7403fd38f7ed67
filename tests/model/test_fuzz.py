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

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpunep.errors import ModelFileError
from gpunep.model import random_model, read_model
from model_cases import round7, spec_fitted_vector, spec_values

FUZZ = settings(max_examples=200, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

TINY = dict(n_max=(1, 1), basis_size=(2, 1), n_neuron=2, max_neighbors=(9, 5))
BASES = {
    "nep3": dict(version=3, types=("Te", "Pb")),
    "nep4": dict(types=("Te", "Pb"), l_max=(2, 2, 0)),
    "nep5": dict(version=5, types=("Te", "Pb"), l_max=(2, 0, 1)),
    "zbl_typewise": dict(types=("C",), zbl=(0.0, 2.0), zbl_typewise_cutoff_factor=0.7),
    "zbl_flexible": dict(types=("H", "O"), zbl=(0.0, 0.0)),
    "typewise_cutoffs": dict(types=("H", "O"), cutoff=((5.0, 4.5), (3.0, 2.5))),
    "l_max_7": dict(types=("Si",), l_max=(2, 2, 1, 1, 1, 1, 1)),
    "charge2": dict(types=("Te", "Pb"), model_type="potential_with_charges", charge_mode=2),
    "polarizability": dict(types=("H", "O"), model_type="polarizability"),
    "temperature": dict(types=("C",), model_type="temperature"),
}
_WORKDIR = Path(tempfile.mkdtemp(prefix="gpunep-fuzz-"))


def _base_text(name: str) -> str:
    path = _WORKDIR / f"{name}.txt"
    if not path.exists():
        random_model(seed=7, **{**TINY, **BASES[name]}).write(path)
    return path.read_text()


# ------------------------------------------------------------------ mutations
NUMBERS = ["0", "1", "2", "-1", "3", "4", "7", "8", "9", "2.5", "1e3", "0.0", "-0", "1e-9",
           "  1.0000000e+00", "nan", "inf", "1_0", "4.0"]
KEYWORDS = ["nep3", "nep4", "nep5", "nep4_zbl", "nep3_zbl", "nep4_charge1", "nep4_charge2",
            "nep4_zbl_charge1", "nep4_dipole", "nep4_polarizability", "nep4_temperature",
            "nep5_zbl", "nep4_vdw", "nep4_charge3", "nep5_charge1", "zbl", "cutoff", "n_max",
            "basis_size", "l_max", "ANN", "Te", "Pb", "H", "O", "C", "Si", "Xx"]
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


# ------------------------------------------------------------ independent reading
def _number(token: str):
    try:
        return float(token)
    except ValueError:
        return token


def _normal_header(lines: list[str]) -> list[list]:
    """Header tokens as numbers where they are numbers, in a form both writers share."""
    rows = []
    for line in lines:
        parts = [_number(t) for t in line.split()]
        if parts and parts[0] == "l_max":
            parts += [0.0] * (8 - len(parts))  # trailing flags default to 0
        if parts and parts[0] == "ANN" and len(parts) == 2:
            parts.append(0.0)  # "ANN N1" means one hidden layer
        rows.append(parts)
    return rows


def _split_lines(text: str) -> list[str]:
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _check_exact(model, text: str, out: Path) -> None:
    """The model holds exactly the file's numbers and writes them back."""
    lines = _split_lines(text)
    header = 7 if model.zbl is not None else 6
    values = [float(line) for line in lines[header:]]
    assert spec_values(model) == values
    model.write(out)
    written = _split_lines(out.read_text())
    assert _normal_header(written[:header]) == _normal_header(lines[:header])
    assert [float(line) for line in written[header:]] == round7(values).tolist()
    again = read_model(out)
    assert spec_values(again) == round7(values).tolist()


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
    _check_exact(model, text, folder / "out.txt")


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
    _check_exact(model, prefix, path.parent / "out.txt")


# -------------------------------------------------------------------- restart
RESTART_BASE = random_model(("Te", "Pb"), seed=3, model_type="potential_with_charges",
                            charge_mode=1, **TINY)


def _restart_text() -> str:
    n_rows = RESTART_BASE.n_ann_parameters + RESTART_BASE.n_descriptor_parameters
    rng = np.random.default_rng(11)
    return "".join(f"{m:15.7e} {s:15.7e}\n" for m, s in
                   zip(rng.normal(size=n_rows), rng.uniform(0, 0.1, n_rows)))


@FUZZ
@given(data=st.data())
def test_mutated_restart_files(data, tmp_path_factory):
    lines = _restart_text().split("\n")
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
    table = [[float(v) for v in line.split()] for line in _split_lines(text)]
    r = model.restart_parameters
    for column, which in ((0, "mu"), (1, "sigma")):
        assert spec_fitted_vector(model, r[f"ann_{which}"], r[f"radial_descriptor_{which}"],
                                  r[f"angular_descriptor_{which}"]) == [row[column] for row in table]
    model.write_restart(folder / "out.restart")
    written = np.loadtxt(folder / "out.restart")
    np.testing.assert_array_equal(written, round7(np.array(table)))
