"""Frame ranges of an extxyz file read exactly what a read of the whole file reads.

The index is the only thing a Dask client reads of a file; a wrong offset,
frame number or line count would give a worker the wrong structures or
wrong labels, so every range is compared with the whole-file reader.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.io.extxyz import iter_labelled, reference_of
from gpunep.io.extxyz_index import FrameRange, frame_starts


def frame_text(n_atoms: int, seed: int) -> str:
    rng = np.random.default_rng(seed)
    rows = "".join(f"{'Te' if i % 2 else 'Pb'} {x:.6f} {y:.6f} {z:.6f}\n"
                   for i, (x, y, z) in enumerate(rng.uniform(0, 8, (n_atoms, 3))))
    return (f"{n_atoms}\nLattice=\"8 0 0 0 8 0 0 0 8\" pbc=\"T T T\" energy={-seed:.1f} "
            f"virial=\"1 2 3 0.1 0.2 0.3\" Properties=species:S:1:pos:R:3\n{rows}")


@pytest.fixture
def data_file(tmp_path):
    # different sizes, blank lines between frames (the reader skips them), an empty frame
    frames = [frame_text(n, seed) for seed, n in enumerate([3, 1, 5, 0, 2, 4, 2])]
    text = frames[0] + "\n" + frames[1] + frames[2] + "\n\n" + "".join(frames[3:])
    path = tmp_path / "data.xyz"
    path.write_text(text)
    return path


def read_ranges(path, size: int):
    starts = list(frame_starts(path))
    ranges = [FrameRange(str(path), starts[i], len(starts[i:i + size])) for i in range(0, len(starts), size)]
    return [item for r in ranges for item in r.read()]


@pytest.mark.parametrize("size", [1, 2, 3, 100])
def test_ranges_read_what_the_whole_file_reads(data_file, size):
    whole = list(iter_labelled(data_file))
    pieces = read_ranges(data_file, size)
    assert [label for label, _ in pieces] == [label for label, _ in whole]
    for (_, a), (_, b) in zip(pieces, whole):
        assert a.get_chemical_symbols() == b.get_chemical_symbols()
        assert np.array_equal(a.positions, b.positions)
        ra, rb = reference_of(a), reference_of(b)
        assert ra.energy == rb.energy and np.array_equal(ra.virial, rb.virial)


def test_starts_count_atoms_and_lines(data_file):
    starts = list(frame_starts(data_file))
    assert [s.n_atoms for s in starts] == [3, 1, 5, 0, 2, 4, 2]
    assert [s.frame for s in starts] == list(range(7))
    # frame 1 follows frame 0 (5 lines) and one blank line; frame 3 follows two blank lines
    assert [s.line_number for s in starts] == [0, 6, 9, 18, 20, 24, 30]


@pytest.mark.parametrize("broken, message", [
    ("x\nLattice=\"8 0 0 0 8 0 0 0 8\"\n", "expected the atom count of frame 2"),
    ("4\nLattice=\"8 0 0 0 8 0 0 0 8\" Properties=species:S:1:pos:R:3\nTe 0 0 0\n", "frame 2 is truncated"),
])
def test_a_broken_frame_ends_the_index_and_its_range_gives_the_readers_error(tmp_path, broken, message):
    path = tmp_path / "broken.xyz"
    path.write_text(frame_text(2, 0) + frame_text(3, 1) + broken)
    starts = list(frame_starts(path))
    assert [s.n_atoms for s in starts] == [2, 3, None]
    with pytest.raises(ValueError) as whole:
        list(iter_labelled(path))
    with pytest.raises(ValueError) as ranged:
        list(FrameRange(str(path), starts[2], None).read())
    assert message in str(whole.value) and str(ranged.value) == str(whole.value)
