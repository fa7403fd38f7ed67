"""Bad model, restart and nep.in files: every problem is a clear error naming file and line.

Each case starts from a valid file written by our own writer and breaks one
thing, so the line that the error must name is known exactly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gpunep.errors import ModelFileError
from gpunep.model import read_model, read_nepfile, write_nepfile
from model_cases import make_flavour, shared_file, spec_sizes


def _lines(model, tmp_path: Path) -> list[str]:
    model.write(tmp_path / "good.txt")
    return (tmp_path / "good.txt").read_text().split("\n")[:-1]


def _write(tmp_path: Path, lines: list[str], name: str = "bad.txt") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def _expect(path: Path, line: int | None, match: str, reader=read_model) -> ModelFileError:
    with pytest.raises(ModelFileError, match=match) as info:
        reader(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.filename == str(path)
    assert error.line == line
    where = f"{path}, line {line}" if line is not None else str(path)
    assert str(error).startswith(where + ": ")
    return error


@pytest.fixture
def nep4(tmp_path):
    """Lines of a valid nep4 file: header lines 1-6, values from line 7."""
    return _lines(make_flavour("nep4"), tmp_path)


@pytest.fixture
def zbl(tmp_path):
    """Lines of a valid nep4_zbl file: header lines 1-7, values from line 8."""
    return _lines(make_flavour("zbl_universal"), tmp_path)


# ------------------------------------------------------------------- missing
def test_missing_files_are_oserrors(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_model(tmp_path / "absent.txt")
    make_flavour("nep4").write(tmp_path / "nep.txt")
    with pytest.raises(FileNotFoundError):
        read_model(tmp_path / "nep.txt", restart_file=tmp_path / "absent.restart")
    with pytest.raises(FileNotFoundError):
        read_nepfile(tmp_path / "absent.in")
    with pytest.raises(OSError):
        read_model(tmp_path)  # a directory


def test_empty_file(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    _expect(tmp_path / "empty.txt", None, "empty")


def test_binary_file(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"nep4 1 C\n\xff\xfe\x00garbage")
    _expect(tmp_path / "bin.txt", None, "not a text file")


# -------------------------------------------------------------------- line 1
@pytest.mark.parametrize("first, match", [
    ("nep6 2 Te Pb", "unknown model token 'nep6'"),
    ("NEP4 2 Te Pb", "unknown model token"),
    ("nep4_zbl_zbl 2 Te Pb", "unknown model token"),
    ("nep4_charge3 2 Te Pb", "charge mode 3 is not supported"),
    ("nep4_vdw 2 Te Pb", "nep4_vdw models are training-only"),
    ("nep4_charge_vdw 2 Te Pb", "training-only"),
    ("nep5_polarizability 2 Te Pb", "NEP5 exists only"),
    ("nep5_charge1 2 Te Pb", "NEP5 exists only"),
    ("nep4", "missing the number of types"),
    ("nep4 two Te Pb", "number of types: expected a number, got 'two'"),
    ("nep4 0", "number of types: expected an integer >= 1"),
    ("nep4 3 Te Pb", "expected 3 element symbols after 'nep4 3', found 2"),
    ("nep4 2 Te Pb Se", "expected 2 element symbols"),
    ("nep4 2 Te Xx", "'Xx' is not an element symbol"),
    ("nep4 2 Te Te", "element symbols repeat"),
    ("", "expected 'nep<version>"),
])
def test_first_line(nep4, tmp_path, first, match):
    _expect(_write(tmp_path, [first] + nep4[1:]), 1, match)


# ---------------------------------------------------------------- header lines
@pytest.mark.parametrize("index, text, match", [
    (1, "cutoff 6 4 40", "'cutoff' line has 4 fields, expected 5 or 8 or 7"),
    (1, "cutoff 6 4 40 20 1 2 3 4", "'cutoff' line has 9 fields"),
    (1, "cutoff 6 4 40 20 2.5 0 0.7", "radial 2.5 is on but angular 0 is not > 0"),
    (1, "cutoff six 4 40 20", "cutoff: expected a number, got 'six'"),
    (1, "cutoff 6 4 40.5 20", "max radial neighbors: expected an integer"),
    (1, "cutoff 6 4 40 -1", "max angular neighbors: expected an integer >= 0"),
    (1, "cutoff 4 6 40 20", "0 < angular <= radial"),
    (1, "cutoff 6 0 40 20", "0 < angular <= radial"),
    (1, "cutoff 6 nan 40 20", "expected a number, got 'nan'"),
    (1, "cutoff 6 1e999 40 20", "not finite"),
    (1, "cutoff 6_0 4 40 20", "expected a number, got '6_0'"),
    (1, "rcut 6 4 40 20", "expected the 'cutoff' header line, found 'rcut'"),
    (1, "", "expected the 'cutoff' header line, found 'an empty line'"),
    (2, "n_max 3", "'n_max' line has 2 fields, expected 3"),
    (2, "n_max 3 -2", "n_max angular: expected an integer >= 0"),
    (2, "n_max 3 2.5", "n_max angular: expected an integer"),
    (2, "basis_size 4 3", "expected the 'n_max' header line, found 'basis_size'"),
    (3, "basis_size 4 3 2", "'basis_size' line has 4 fields"),
    (4, "l_max", "'l_max' line has 1 fields"),
    (4, "l_max 4 2 0 0 0 0 0 0", "'l_max' line has 9 fields"),
    (4, "l_max 0 2 0", "l_max for 3-body terms must be 1..8, got 0"),
    (4, "l_max 9 2 0", "must be 1..8, got 9"),
    (4, "l_max 4 x 0", "l_max: expected a number, got 'x'"),
    (5, "ANN 5 3", "two-hidden-layer models"),
    (5, "ANN 0 0", "ANN neurons: expected an integer >= 1"),
    (5, "ANN", "'ANN' line has 1 fields"),
])
def test_header_lines(nep4, tmp_path, index, text, match):
    lines = list(nep4)
    lines[index] = text
    _expect(_write(tmp_path, lines), index + 1, match)


def test_typewise_cutoff_line(tmp_path):
    lines = _lines(make_flavour("typewise_cutoffs"), tmp_path)
    assert len(lines[1].split()) == 9  # cutoff + 3 x (radial, angular) + MN_R + MN_A
    lines[1] = "cutoff 6 4 5.5 3.5 5 40"
    _expect(_write(tmp_path, lines), 2, "'cutoff' line has 7 fields, expected 5 or 8 or 9")


@pytest.mark.parametrize("text, match", [
    ("zbl 1", "'zbl' line has 2 fields, expected 3 or 4"),
    ("zbl 1 2 0.7 9", "'zbl' line has 5 fields"),
    ("zbl one 2", "zbl inner cutoff: expected a number"),
    ("zbl 1 2 f", "zbl typewise factor: expected a number"),
    ("cutoff 6 4 40 20", "expected the 'zbl' header line, found 'cutoff'"),
])
def test_zbl_line(zbl, tmp_path, text, match):
    lines = list(zbl)
    lines[1] = text
    _expect(_write(tmp_path, lines), 2, match)


@pytest.mark.parametrize("keep, line, keyword", [(1, 2, "cutoff"), (3, 4, "basis_size"),
                                                 (5, 6, "ANN")])
def test_header_cut_short(nep4, tmp_path, keep, line, keyword):
    _expect(_write(tmp_path, nep4[:keep]), line, f"file ends before the '{keyword}' header line")


# ---------------------------------------------------------------- value lines
@pytest.mark.parametrize("text, match", [
    ("abc", "parameter value: expected a number, got 'abc'"),
    ("0x1p3", "expected a number"),
    ("1.0,", "expected a number"),
    ("nan", "expected a number, got 'nan'"),
    ("-inf", "expected a number"),
    ("1e400", "not finite"),
    ("1e", "expected a number, got '1e'"),        # only digits, '.', 'e', '+', '-' in these:
    ("1.2.3", "expected a number, got '1.2.3'"),  # they pass a quick character check
    ("--1", "expected a number, got '--1'"),
    ("1.0 2.0", "expected one number per line, found 2 fields"),
    ("", "expected one number per line, found 0 fields"),
    # a Unicode line separator is neither a line break nor (as for GPUMD) a blank between tokens
    ("1.0\u20282.0", r"expected a number, got '1\.0\\u20282\.0' \(it holds U\+2028, a blank GPUMD"),
])
def test_bad_value_line(nep4, tmp_path, text, match):
    lines = list(nep4)
    lines[100] = text
    _expect(_write(tmp_path, lines), 101, match)


def test_truncated_file(nep4, tmp_path):
    model = make_flavour("nep4")
    expected = spec_sizes(model)["values"]
    cut = nep4[:-7]
    error = _expect(_write(tmp_path, cut), len(cut) + 1, "file is truncated")
    assert f"expected {expected} values" in str(error) and f"found {expected - 7}" in str(error)


def test_truncated_inside_flexible_zbl_table(tmp_path):
    lines = _lines(make_flavour("zbl_flexible"), tmp_path)
    error = _expect(_write(tmp_path, lines[:-3]), len(lines) - 2, "file is truncated")
    assert "flexible ZBL" in str(error)


def test_extra_values(nep4, tmp_path):
    lines = nep4 + ["  1.0000000e+00", "  2.0000000e+00"]
    error = _expect(_write(tmp_path, lines), len(nep4) + 1, "extra values")
    assert f"found {spec_sizes(make_flavour('nep4'))['values'] + 2}" in str(error)


def test_file_of_another_flavour(tmp_path):
    """A nep4 body under a charge or NEP5 header is caught by the value count."""
    lines = _lines(make_flavour("nep4"), tmp_path)
    lines[0] = lines[0].replace("nep4", "nep4_charge1")
    _expect(_write(tmp_path, lines), len(lines) + 1, "file is truncated")
    lines[0] = lines[0].replace("nep4_charge1", "nep3")
    _expect(_write(tmp_path, lines), spec_sizes(make_flavour("nep3"))["lines"] + 1, "extra values")


def test_trailing_blank_lines_and_crlf_are_fine(nep4, tmp_path):
    model = read_model(_write(tmp_path, nep4 + ["", "   ", ""], name="blank.txt"))
    (tmp_path / "crlf.txt").write_bytes(("\r\n".join(nep4) + "\r\n").encode())
    crlf = read_model(tmp_path / "crlf.txt")
    np.testing.assert_array_equal(crlf.q_scaler, model.q_scaler)


# ---------------------------------------------------------------------- restart
def _restart_lines(model) -> list[str]:
    sizes = spec_sizes(model)
    return ["  1.0000000e-01   2.0000000e-02"] * (sizes["n_ann"] + sizes["n_c"])


@pytest.mark.parametrize("delta", [-1, +1])
def test_restart_row_count_mismatch(tmp_path, delta):
    model = make_flavour("nep4")
    rows = _restart_lines(model)
    rows = rows[:delta] if delta < 0 else rows + rows[:delta]
    path = _write(tmp_path, rows, "nep.restart")
    error = _expect(path, None, "another architecture", reader=model.read_restart)
    assert f"has {len(rows)} rows" in str(error) and f"has {len(rows) - delta} fitted" in str(error)
    assert model.restart_parameters is None


def test_restart_for_another_architecture(tmp_path):
    rows = _restart_lines(make_flavour("nep4"))
    path = _write(tmp_path, rows, "nep.restart")
    make_flavour("nep4").write(tmp_path / "nep.txt")
    read_model(tmp_path / "nep.txt", restart_file=path)  # fits
    for other in ("nep3", "charge1", "l_max_3_fields", "nep5"):
        model = make_flavour(other)
        _expect(path, None, "another architecture", reader=model.read_restart)


def test_real_restart_of_another_model(tmp_path):
    """GPUMD's nep_train restart (3033 rows) does not fit the qnep_train model (3094)."""
    model = read_model(shared_file("gpumd/qnep_train/nep.txt"))
    path = shared_file("gpumd/nep_train/nep.restart")
    error = _expect(path, None, "another architecture", reader=model.read_restart)
    assert "has 3033 rows" in str(error) and "3094 fitted parameters" in str(error)


@pytest.mark.parametrize("text, match", [
    ("  1.0000000e-01", "expected two numbers 'mu sigma', found 1 fields"),
    ("  1.0000000e-01 2.0e-02 3.0", "found 3 fields"),
    ("  mu 2.0e-02", "mu: expected a number, got 'mu'"),
    ("  1.0e-01 nan", "sigma: expected a number, got 'nan'"),
    ("", "found 0 fields"),
])
def test_bad_restart_row(tmp_path, text, match):
    model = make_flavour("nep4")
    rows = _restart_lines(model)
    rows[41] = text
    _expect(_write(tmp_path, rows, "nep.restart"), 42, match, reader=model.read_restart)


# ----------------------------------------------------------------------- nep.in
def test_nepfile_errors(tmp_path):
    path = _write(tmp_path, ["type 2 Te Pb", "# comment", "neuron 30", "neuron 40"], "nep.in")
    _expect(path, 4, "keyword 'neuron' repeats \\(first on line 3\\)", reader=read_nepfile)
    path = _write(tmp_path, ["type 2 Te Pb", "prediction   # no value"], "nep.in")
    _expect(path, 2, "keyword 'prediction' has no value", reader=read_nepfile)


# ------------------------------------------------------- text as GPUMD reads it
def test_byte_order_marks_open_a_file_and_nowhere_else(nep4, tmp_path):
    """Marks opening the file are dropped (an editor may add one to a file that has one);
    one further on is invisible text inside a token, an error naming its line and column."""
    plain = read_model(_write(tmp_path, nep4, "plain.txt"))
    twice = tmp_path / "twice.txt"
    twice.write_bytes(b"\xef\xbb\xbf" * 2 + _write(tmp_path, nep4).read_bytes())
    np.testing.assert_array_equal(read_model(twice).q_scaler, plain.q_scaler)
    lines = list(nep4)
    lines[1] = "cutoff\ufeff " + lines[1].removeprefix("cutoff ")
    _expect(_write(tmp_path, lines), 2, "a byte order mark \\(U\\+FEFF\\) at column 7; only the start")
    _expect(_write(tmp_path, ["type 1 C", " \ufeffneuron 30"], "nep.in"), 2, "at column 2",
            reader=read_nepfile)


@pytest.mark.parametrize("blank", ["\u00a0", "\u2028", "\x1c", "\u3000"])
def test_a_blank_only_python_splits_at_is_inside_its_token(nep4, tmp_path, blank):
    """GPUMD's C++ streams split at C's blanks only: 'cutoff<NBSP>8' is one token."""
    lines = list(nep4)
    lines[6] = lines[6].strip() + blank
    error = _expect(_write(tmp_path, lines), 7, "parameter value: expected a number")
    assert f"it holds U+{ord(blank):04X}" in str(error)
    lines = list(nep4)
    lines[3] = lines[3].replace(" ", blank, 1)  # 'basis_size<blank>...'
    error = _expect(_write(tmp_path, lines), 4, "expected the 'basis_size' header line")
    assert f"it holds U+{ord(blank):04X}" in str(error)
    path = _write(tmp_path, ["type 1 C", f"neuron 30{blank}"], "nep.in")
    assert read_nepfile(path) == {"type": [1, "C"], "neuron": f"30{blank}"}  # a word, as for GPUMD


def test_nepfile_numbers_are_c_numbers(tmp_path):
    """Integer, else real (C's forms, nan and inf too), else word; written back the same."""
    path = _write(tmp_path, ["a 12 -3 +4", "b 1.5 1e3 .5 -inf nan", "c 1_000 0x10 ١٢ 1e"], "nep.in")
    params = read_nepfile(path)
    assert params["a"] == [12, -3, 4] and all(type(v) is int for v in params["a"])
    assert params["b"][:4] == [1.5, 1000.0, 0.5, -np.inf] and np.isnan(params["b"][4])
    assert params["c"] == ["1_000", "0x10", "١٢", "1e"]
    (tmp_path / "out").mkdir()
    write_nepfile(params, tmp_path / "out")
    again = read_nepfile(tmp_path / "out" / "nep.in")
    assert again["a"] == params["a"] and again["c"] == params["c"] and again["b"][:4] == params["b"][:4]


# ---------------------------------------------------------------------- writers
def _unchanged_after_failure(tmp_path: Path, write) -> None:
    """``write(path)`` must raise ValueError and leave the old file and no temp file."""
    target = tmp_path / "target"
    target.write_text("previous content\n")
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(ValueError):
        write(target)
    assert target.read_text() == "previous content\n"
    assert sorted(os.listdir(tmp_path)) == before


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.ann_parameters["Te"]["w0"].__setitem__((0, 0), np.nan), "non-finite parameter"),
    (lambda m: m.ann_parameters.__setitem__("b1", np.inf), "non-finite parameter"),
    (lambda m: m.q_scaler.__setitem__(0, np.nan), "non-finite parameter"),
    (lambda m: m.radial_descriptor_weights.__setitem__(("Te", "Pb"), np.zeros((2, 2))),
     r"radial_descriptor_weights\[\('Te', 'Pb'\)\] has shape \(2, 2\)"),
    (lambda m: m.ann_parameters["Pb"].__setitem__("w0", np.zeros((5, 3))),
     r"ann_parameters\['Pb'\]\['w0'\] has shape \(5, 3\)"),
    (lambda m: m.ann_parameters["Pb"].pop("b0"), r"ann_parameters\['Pb'\] has no entry 'b0'"),
    (lambda m: m.ann_parameters.pop("Te"), "ann_parameters has no entry 'Te'"),
    (lambda m: m.angular_descriptor_weights.pop(("Pb", "Pb")), "has no entry"),
    (lambda m: setattr(m, "q_scaler", np.ones(3)), "q_scaler has 3 values"),
])
def test_write_failure_leaves_target_unchanged(tmp_path, edit, match):
    model = make_flavour("nep4")
    edit(model)
    with pytest.raises(ValueError, match=match):
        model.write(tmp_path / "other.txt")
    assert not (tmp_path / "other.txt").exists()
    _unchanged_after_failure(tmp_path, model.write)


def test_write_flexible_zbl_without_table(tmp_path):
    model = make_flavour("zbl_flexible")
    model.zbl_parameters = None
    _unchanged_after_failure(tmp_path, model.write)
    model = make_flavour("zbl_flexible")
    model.zbl_parameters[("H", "C")] = np.zeros(9)
    _unchanged_after_failure(tmp_path, model.write)


def test_write_restart_failure_leaves_target_unchanged(tmp_path):
    model = make_flavour("nep4")
    path = _write(tmp_path, _restart_lines(model), "nep.restart")
    model.read_restart(path)
    model.restart_parameters["ann_sigma"]["Te"]["b0"][1, 0] = np.nan
    _unchanged_after_failure(tmp_path, model.write_restart)
    model.read_restart(path)
    model.restart_parameters["radial_descriptor_mu"][("Te", "Te")] = np.zeros(3)
    _unchanged_after_failure(tmp_path, model.write_restart)


def test_interrupted_write_leaves_target_unchanged(tmp_path, monkeypatch):
    """A failure between writing the temporary file and renaming it keeps the old file."""
    def fail(*args):
        raise OSError("disk full")

    target = tmp_path / "nep.txt"
    target.write_text("previous content\n")
    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        make_flavour("nep4").write(target)
    with pytest.raises(OSError, match="disk full"):
        write_nepfile({"type": [1, "C"]}, tmp_path)
    assert target.read_text() == "previous content\n"
    assert sorted(os.listdir(tmp_path)) == ["nep.txt"]


def test_written_files_get_ordinary_permissions(tmp_path):
    """Atomic writing must not leave the temporary file's private 0600 mode on the model."""
    old = os.umask(0o022)
    try:
        make_flavour("nep4").write(tmp_path / "nep.txt")
        write_nepfile({"type": [1, "C"]}, tmp_path)
    finally:
        os.umask(old)
    assert (tmp_path / "nep.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "nep.in").stat().st_mode & 0o777 == 0o644
    (tmp_path / "nep.txt").chmod(0o640)
    make_flavour("nep3").write(tmp_path / "nep.txt")  # replacing keeps the file's mode
    assert (tmp_path / "nep.txt").stat().st_mode & 0o777 == 0o640
    assert read_model(tmp_path / "nep.txt").version == 3


def test_rows_that_compensate_each_other_are_found(tmp_path):
    """A row with one field too many and another with one too few keep the total count of
    numbers right; the error must still name the first bad row."""
    model = make_flavour("nep4")
    rows = _restart_lines(model)
    rows[10] = "  1.0e-01 2.0e-02 3.0e-02"
    rows[20] = "  1.0e-01"
    _expect(_write(tmp_path, rows, "nep.restart"), 11, "found 3 fields", reader=model.read_restart)
    lines = _lines(model, tmp_path)
    lines[50], lines[60] = "1.0 2.0", ""
    _expect(_write(tmp_path, lines), 51, "found 2 fields")
    lines[50], lines[60] = "1.0", "1e"
    _expect(_write(tmp_path, lines), 61, "expected a number, got '1e'")
