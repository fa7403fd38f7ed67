"""The numpy reader of extxyz atom lines (gpunep/io/extxyz_atoms.py) against ASE's.

The oracle is ASE's own extxyz reader on the same frame text (what gpunep used
before, and what ``frame_atoms`` returning None falls back to): the ``Atoms``
must be the same in everything a user can read from them (numbers,
positions, cell, pbc, info, arrays and their dtypes, the calculator's
results, constraints), bit for bit.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np
import pytest

import gpunep.io.extxyz as extxyz
from gpunep.io.extxyz import iter_labelled

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "models"

# every column type (S, R, I, L), names ASE maps (species, pos, Z, charge) and keeps
# (force, tags), per-atom results ASE puts in its calculator (forces, energies),
# comment keys of every kind; lower-case species; a slab; a frame without atoms
FRAMES = """3
Lattice="5.0 0.0 0.0 0.0 5.5 0.0 0.0 0.0 6.0" Properties=species:S:1:pos:R:3:force:R:3:tags:I:1:fixed:L:1:label:S:1 energy=-12.5 virial="1.0 2.0 3.0 0.5 0.25 0.125" config_type=bulk_1 weight=2 have_extra
si 0.0 0.1 0.2 1.5e-3 -2.0 3.25 7 T first
C 1.0 1.1 1.2 0.0 0.0 -0.0 -3 F second
Si 2.0 2.1 2.2 1e2 -1E-2 .5 0 True third
2
Lattice="4.0 0.0 0.0 0.0 4.0 0.0 0.0 0.0 20.0" pbc="T T F" Properties=species:S:1:pos:R:3:forces:R:3:energies:R:1:charge:R:1 stress="0.1 0.2 0.3 0.2 0.5 0.6 0.3 0.6 0.9" dipole="0.1 0.2 0.3" comment="a quoted string"
C 0.5 0.5 10.0 0.1 0.2 0.3 -1.5 0.25
C 1.5 1.5 11.0 -0.1 -0.2 -0.3 -1.25 -0.25
2
Properties=Z:I:1:pos:R:3 energy=1.0 pbc="F F F"
6 0.0 0.0 0.0
14 1.7 0.0 0.0
0
Lattice="3.0 0.0 0.0 0.0 3.0 0.0 0.0 0.0 3.0" Properties=species:S:1:pos:R:3 energy=0.0
2
Lattice="3.0 0.0 0.0 0.0 3.0 0.0 0.0 0.0 3.0" Properties=species:S:1:pos:R:3:move_mask:L:1
C 0.0 0.0 0.0 T
C 1.5 1.5 1.5 F
"""


def read_both(path) -> tuple[list, list]:
    """The frames of ``path`` read with the numpy columns and with ASE alone."""
    fast = [atoms for _, atoms in iter_labelled(path)]
    with mock.patch.object(extxyz, "frame_atoms", return_value=None):
        slow = [atoms for _, atoms in iter_labelled(path)]
    return fast, slow


def assert_same_atoms(a, b, where: str) -> None:
    assert np.array_equal(a.numbers, b.numbers), where
    assert a.positions.tobytes() == b.positions.tobytes(), where
    assert np.array_equal(a.cell[:], b.cell[:]) and np.array_equal(a.pbc, b.pbc), where
    assert a.info.keys() == b.info.keys(), where
    for key, value in a.info.items():
        other = b.info[key]
        assert type(value) is type(other), (where, key)
        if isinstance(value, np.ndarray):
            assert value.dtype == other.dtype and np.array_equal(value, other), (where, key)
        else:
            assert value == other, (where, key)
    assert a.arrays.keys() == b.arrays.keys(), where
    for key, value in a.arrays.items():
        assert value.dtype == b.arrays[key].dtype and np.array_equal(value, b.arrays[key]), (where, key)
    mine, theirs = (atoms.calc.results if atoms.calc else {} for atoms in (a, b))
    assert mine.keys() == theirs.keys(), where
    for key, value in mine.items():
        assert np.asarray(value).dtype == np.asarray(theirs[key]).dtype, (where, key)
        assert np.array_equal(value, theirs[key]), (where, key)
    assert [repr(c) for c in a.constraints] == [repr(c) for c in b.constraints], where


def test_every_column_type_reads_as_ase_reads_it(tmp_path):
    path = tmp_path / "frames.xyz"
    path.write_text(FRAMES)
    fast, slow = read_both(path)
    assert len(fast) == len(slow) == 5
    for k, (a, b) in enumerate(zip(fast, slow)):
        assert_same_atoms(a, b, f"frame {k}")
    # the columns are really there, typed as ASE types them
    assert fast[0].get_chemical_symbols() == ["Si", "C", "Si"]
    assert fast[0].arrays["tags"].dtype == np.int32 and fast[0].arrays["fixed"].tolist() == [True, False, True]
    assert fast[1].calc.results["energies"].tolist() == [-1.5, -1.25]
    assert len(fast[4].constraints) == 1   # move_mask: read by ASE


def test_numbers_convert_bit_for_bit_as_python_float():
    from gpunep.io.extxyz_atoms import _columns

    rng = np.random.default_rng(0)
    values = rng.normal(0, 1, 3000) * 10.0 ** rng.integers(-310, 308, 3000)
    strings = [text for v in values for text in (repr(float(v)), f"{v:.8e}", f"{v:.15g}", f"{v:.6f}")]
    strings += ["inf", "-inf", "+1.5", "1.", ".5", "-.5e-3", "4.9e-324", "1e400", "0001.5", "-0"]
    (column,) = _columns([[s] for s in strings], np.dtype([("x", "d")]))
    expected = np.array([float(s) for s in strings])
    assert column.view(np.int64).tolist() == expected.view(np.int64).tolist()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/models not present (a user's clone)")
def test_every_data_set_in_shared_reads_as_ase_reads_it():
    files = sorted(SHARED.glob("**/*.xyz"))
    assert files
    for path in files:
        fast, slow = read_both(path)
        assert len(fast) == len(slow)
        for k, (a, b) in enumerate(zip(fast, slow)):
            assert_same_atoms(a, b, f"{path}, frame {k}")
