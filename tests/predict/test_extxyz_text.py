"""Extended XYZ text read as GPUMD reads it: C's blanks and numbers, counts the file can hold,
the order of 9-component tensors (docs/file-formats.md#text-as-gpumd-reads-it).

Frame 0 of each file is a good 2-atom frame (lines 1-4); the frame under test
is frame 1, whose header is line 5, comment line 6 and atom lines 7-8.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from ase import Atoms

from gpunep import random_model
from gpunep.io.extxyz import iter_labelled, reference_of
from gpunep.io.extxyz_index import frame_starts
from gpunep.io.gpumd_files import write_prediction
from gpunep.prediction import predict

LATTICE = 'Lattice="5 0 0 0 5 0 0 0 5"'
PROPERTIES = "Properties=species:S:1:pos:R:3"
GOOD = f"2\n{LATTICE} {PROPERTIES} energy=-2.0\nSi 0 0 0\nC 1.1 1.2 1.3\n"


def _write(tmp_path, second: str):
    path = tmp_path / "data.xyz"
    path.write_bytes((GOOD + second).encode())
    return path


def _read(path) -> list:
    return [reference_of(atoms, where) for where, atoms in iter_labelled(path)]


def _refused(path, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(str(path))}, {message}"):
        _read(path)


# ------------------------------------------------------------------ atom counts
def test_a_count_the_file_cannot_hold_is_refused_before_a_line_is_read(tmp_path):
    path = _write(tmp_path, f"2000000000\n{LATTICE}\nSi 0 0 0\n")
    _refused(path, r"line 5: frame 1 is truncated or its atom count is wrong: it says 2000000000 atoms, "
                   r"but the 9 bytes after its comment line \(line 6\) cannot hold 2000000000 lines of 4")


def test_a_count_beyond_the_last_line_names_where_the_file_ends(tmp_path):
    # enough bytes for three atom lines, but only one line
    path = _write(tmp_path, f"3\n{LATTICE}\nSi 0 0 0{' ' * 40}\n")
    _refused(path, "line 5: frame 1 is truncated or its atom count is wrong: it says 3 atoms, "
                   "but the file ends after line 7, 1 atom lines on")


def test_the_index_stops_at_a_count_the_file_cannot_hold(tmp_path):
    path = _write(tmp_path, f"99999999999999999999\n{LATTICE}\nSi 0 0 0\n")
    assert [start.n_atoms for start in frame_starts(path)] == [2, None]


# ------------------------------------------------------------------ numbers
@pytest.mark.parametrize("pair, key", [
    ("energy=T", "energy='T'"), ("energy=True", "energy='True'"), ("charge=F", "charge='F'"),
    ("energy=1_000", "energy='1_000'"), ('virial="1 0 0 0 1 0 0 0 T"', "virial="),
    ('dipole="1 2 ١"', "dipole="), ("pol=１２", "pol="), ("energy", "energy has no value"),
])
def test_numeric_keys_hold_numbers_in_c_forms(tmp_path, pair, key):
    path = _write(tmp_path, f"2\n{LATTICE} {PROPERTIES} {pair}\nSi 0 0 0\nC 1 1 1\n")
    _refused(path, f"line 6: frame 1: {re.escape(key)}")


def test_a_lattice_in_other_digits_is_refused(tmp_path):
    path = _write(tmp_path, f'2\nLattice="5 0 0 0 ５ 0 0 0 5" {PROPERTIES}\nSi 0 0 0\nC 1 1 1\n')
    _refused(path, r"line 6: frame 1: Lattice='5 0 0 0 ５ 0 0 0 5': '５' is not a number")


def test_words_stay_words(tmp_path):
    """Only the keys gpunep reads as numbers are checked: labels may hold '_' and any letter."""
    path = _write(tmp_path, f"2\n{LATTICE} {PROPERTIES}:label:S:1 config_type=bulk_1 energy=-1e1\n"
                            "Si 0 0 0 région_1\nC 1 1 1 b\n")
    references = _read(path)
    assert references[1].config_type == "bulk_1" and references[1].energy == -10.0


@pytest.mark.parametrize("token", ["1_000", "١٢", "１２"])
def test_atom_columns_hold_numbers_in_c_forms(tmp_path, token):
    path = _write(tmp_path, f"2\n{LATTICE} {PROPERTIES}:tag:I:1\nSi 0 0 0 1\nC 1 2 3 {token}\n")
    _refused(path, f"line 8: frame 1, atom 1, column 5: '{token}' is not an integer")
    path = _write(tmp_path, f"2\n{LATTICE} {PROPERTIES}\nSi 0 0 0\nC 1 {token} 3\n")
    _refused(path, f"line 8: frame 1, atom 1, column 3: '{token}' is not a real number")


@pytest.mark.parametrize("blank", ["\u00a0", "\u2028", "\x1c", "\u3000"])
def test_a_blank_python_splits_at_and_c_does_not_is_refused(tmp_path, blank):
    code = f"U\\+{ord(blank):04X}"
    path = _write(tmp_path, f"2\n{LATTICE} {PROPERTIES}\nSi 0 0 0\nC 1.1{blank}1.2 1.3\n")
    _refused(path, f"line 8, column 6: {code} is a blank to Python")
    path = _write(tmp_path, f"2\n{LATTICE} {PROPERTIES} config_type=a{blank}b\nSi 0 0 0\nC 1 1 1\n")
    _refused(path, f"line 6, column {len(LATTICE + PROPERTIES) + 16}: {code}")


# ------------------------------------------------------------------ tensors
def test_an_asymmetric_virial_is_written_and_read_back_row_major(tmp_path):
    path = _write(tmp_path, f'2\n{LATTICE} {PROPERTIES} virial="1 2 3 4 5 6 7 8 9"\nSi 0 0 0\nC 1 1 1\n')
    np.testing.assert_array_equal(_read(path)[1].virial, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    model = random_model(("Si", "C"), cutoff=(4.0, 3.0), n_neuron=4, seed=3)
    write_prediction(predict(model, path, backend="reference", progress=False), tmp_path / "out")
    np.testing.assert_array_equal(_read(tmp_path / "out" / "train.xyz")[1].virial,
                                  [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_an_asymmetric_stress_keeps_the_six_numbers_gpumd_keeps(tmp_path):
    """GPUMD's trainer makes a 9-component stress symmetric with xy, zx and yz taken from
    the 4th, 7th and 8th numbers (the lower triangle, row-major); ASE keeps the same six."""
    path = _write(tmp_path, f'2\n{LATTICE} {PROPERTIES} stress="1 2 3 4 5 6 7 8 9"\nSi 0 0 0\nC 1 1 1\n')
    # rtol: the volume is a floating-point determinant, 125 to a few ulps
    np.testing.assert_allclose(_read(path)[1].virial, -125.0 * np.array([[1, 4, 7], [4, 5, 8], [7, 8, 9]]),
                               rtol=1e-14, atol=0)


def test_a_stress_times_a_volume_that_overflows_is_refused(tmp_path):
    # each factor finite (volume 1e300, stress 1e10), their product not
    path = _write(tmp_path, '2\nLattice="1e100 0 0 0 1e100 0 0 0 1e100" '
                            f'{PROPERTIES} stress="1e10 1 1 0 0 0"\nSi 0 0 0\nC 1 1 1\n')
    _refused(path, r"frame 1 \(line 5\): virial \(-stress times the cell volume\) has a non-finite value")


def test_truth_values_on_atoms_are_not_numbers():
    atoms = Atoms("Si", cell=[5, 5, 5], pbc=True)
    atoms.info["energy"] = True
    with pytest.raises(ValueError, match="here: energy=True is a truth value, not a number"):
        reference_of(atoms, "here")
    del atoms.info["energy"]
    atoms.info["pol"] = np.ones(9, dtype=bool)
    with pytest.raises(ValueError, match="here: pol=.* holds truth values, not numbers"):
        reference_of(atoms, "here")
