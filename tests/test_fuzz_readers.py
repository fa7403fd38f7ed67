"""The file readers fuzzed: a few hundred seeded cases of benchmarks/fuzz_readers.py (issue 12).

The first full run (``python benchmarks/fuzz_readers.py``, 10,000 cases per
reader) found the problems below; each has a minimal reproducer here, which
asserts the reader's fixed behaviour. A finding of the seeded run fails
:func:`test_fuzzed_readers` unless ``KNOWN_CAUSES`` lists its cause.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from fuzz_readers import READERS, cause, describe, fuzz  # noqa: E402  (benchmarks/fuzz_readers.py)
from gpunep.errors import ModelFileError  # noqa: E402
from gpunep.io.extxyz import iter_labelled, reference_of  # noqa: E402
from gpunep.model import read_nepfile, write_nepfile  # noqa: E402

CASES_PER_READER = 50  # 200 in all: about 10 s here, within CI's budget

#: causes (benchmarks/fuzz_readers.py's ``cause``) of known findings -> their reproducer below.
#: Empty: the findings of the first full run are fixed, and their reproducers assert the fixes.
#: A new finding gets an entry here and a reproducer marked
#: ``pytest.mark.xfail(strict=True)`` until its reader is fixed.
KNOWN_CAUSES: dict[str, str] = {}


def test_fuzzed_readers():
    report = fuzz(CASES_PER_READER, seed=0)
    for reader in READERS:
        # The mutations reach both sides: files refused and files read back exactly.
        assert report.counts[(reader, "refused")] > 0, reader
        assert report.counts[(reader, "exact")] > 0, reader
    unknown = [(outcome, case, detail) for outcome, case, detail in report.findings
               if cause(outcome, case, detail) not in KNOWN_CAUSES]
    report.findings = unknown
    assert not unknown, describe(report, seed=0)


# ------------------------------------------------------------------ reproducers
def _xyz(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "train.xyz"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _read_all(path: Path) -> list:
    return [reference_of(atoms, where) for where, atoms in iter_labelled(path)]


class _Timeout(Exception):
    pass


def _raise_timeout(signum, frame):
    raise _Timeout("still reading after 2 s")


def test_huge_atom_count_refused_at_once(tmp_path):
    """An atom count far beyond the file: an error naming the file, not a read of 10^20 empty lines."""
    path = _xyz(tmp_path, "99999999999999999999\nLattice=\"5 0 0 0 5 0 0 0 5\" Properties=species:S:1:pos:R:3\n"
                          "H 0 0 0\n")
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, 2.0)  # the file is 3 lines: any answer takes milliseconds
    try:
        with pytest.raises(ValueError, match="train.xyz"):
            _read_all(path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_nine_component_virial_is_row_major(tmp_path):
    """gpunep.io.extxyz documents virial= as 9 components row-major (xx xy xz yx ...)."""
    path = _xyz(tmp_path, '1\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 '
                          'virial="1 2 3 4 5 6 7 8 9"\nH 0 0 0\n')
    np.testing.assert_array_equal(_read_all(path)[0].virial, [[1, 2, 3], [4, 5, 6], [7, 8, 9]])


def test_energy_word_refused(tmp_path):
    """energy=T is not a number (ASE turns it into True, and float(True) is 1.0)."""
    path = _xyz(tmp_path, '1\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 energy=T\nH 0 0 0\n')
    with pytest.raises(ValueError, match="energy"):
        _read_all(path)


@pytest.mark.parametrize("spelling", ["1_000", "١٢", "１２"])
def test_python_only_numbers_refused(tmp_path, spelling):
    """Python's int() and float() read 1_000 and non-ASCII digits; GPUMD does not."""
    (tmp_path / "nep.in").write_text(f"neuron {spelling}\n", encoding="utf-8")
    assert read_nepfile(tmp_path / "nep.in") == {"neuron": spelling}  # a word, as for any non-number
    path = _xyz(tmp_path, f'1\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3\nH 0 0 {spelling}\n')
    with pytest.raises(ValueError, match="train.xyz"):
        _read_all(path)


@pytest.mark.parametrize("blank", ["\u00a0", "\u2028", "\x1c"])
def test_non_ascii_blank_is_not_a_separator(tmp_path, blank):
    """C++ streams (GPUMD) split tokens at ASCII blanks only; Python's str.split() also at NBSP etc."""
    (tmp_path / "nep.in").write_text(f"neuron{blank}30\n", encoding="utf-8")
    with pytest.raises(ModelFileError, match="nep.in"):
        read_nepfile(tmp_path / "nep.in")  # one token: a keyword without a value


def test_nepfile_second_byte_order_mark_round_trip(tmp_path):
    """A nep.in opening with two byte order marks: what is read is what is written back."""
    (tmp_path / "nep.in").write_bytes(b"\xef\xbb\xbf\xef\xbb\xbftype 1 C\n")
    params = read_nepfile(tmp_path / "nep.in")
    (tmp_path / "out").mkdir()
    write_nepfile(params, tmp_path / "out")
    assert read_nepfile(tmp_path / "out" / "nep.in") == params


def test_stress_with_overflowing_volume_refused(tmp_path):
    """A finite stress in a cell whose volume overflows gives an infinite virial: a non-finite
    reference, which gpunep.io.extxyz documents as an error naming the frame."""
    path = _xyz(tmp_path, '1\nLattice="1e200 0 0 0 1e200 0 0 0 1e200" Properties=species:S:1:pos:R:3 '
                          'stress="1 1 1 0 0 0"\nH 0 0 0\n')
    with pytest.raises(ValueError, match="train.xyz"):
        _read_all(path)
