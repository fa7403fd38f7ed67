"""Hostile extxyz files: every problem names the file, the frame and the line.

Frame 0 of each file is a good 2-atom frame (lines 1-4); the frame under test
is frame 1, whose header is line 5, comment line 6 and atoms lines 7-8.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from gpunep.cli import main
from gpunep.errors import StructureWarning
from gpunep.io.extxyz import iter_labelled, reference_of
from gpunep.model import random_model

LATTICE = 'Lattice="5 0 0 0 5 0 0 0 5"'
GOOD = f"2\n{LATTICE} Properties=species:S:1:pos:R:3 energy=-2.0\nSi 0 0 0\nC 1.1 1.2 1.3\n"


def frames(path, second: str) -> list:
    path.write_text(GOOD + second)
    return list(iter_labelled(path))


def test_a_properties_triple_without_its_width_names_file_frame_and_line(tmp_path):
    path = tmp_path / "data.xyz"
    second = f"2\n{LATTICE} Properties=species:S:1:pos:R energy=-2.0\nSi 0 0 0\nC 1.1 1.2 1.3\n"
    with pytest.raises(ValueError, match=rf"^{path}, line 6: frame 1: Properties=species:S:1:pos:R "
                                         "is not a list of name:type:width triples"):
        frames(path, second)


@pytest.mark.parametrize("properties, message", [
    ("species:S:1:pos:R:x", "'pos' has width 'x', not a positive whole number"),
    ("species:S:1:pos:Q:3", "'pos' has type 'Q'"),
    ("species:S:1:force:R:3", "lacks 'pos'"),
])
def test_malformed_properties_name_the_comment_line(tmp_path, properties, message):
    path = tmp_path / "data.xyz"
    second = f"2\n{LATTICE} Properties={properties}\nSi 0 0 0\nC 1.1 1.2 1.3\n"
    with pytest.raises(ValueError, match=rf"^{path}, line 6: frame 1: .*{message}"):
        frames(path, second)


def test_an_atom_line_with_the_wrong_number_of_columns_names_its_line(tmp_path):
    path = tmp_path / "data.xyz"
    second = (f"2\n{LATTICE} Properties=species:S:1:pos:R:3:force:R:3\n"
              "Si 0 0 0 0.1 0.2 0.3\nC 1.1 1.2 1.3 0.1 0.2\n")
    with pytest.raises(ValueError, match=rf"^{path}, line 8: frame 1, atom 1: 6 columns, "
                                         r"but Properties=species:S:1:pos:R:3:force:R:3 declares 7"):
        frames(path, second)


def test_bytes_that_are_not_utf8_name_file_and_line(tmp_path):
    path = tmp_path / "data.xyz"
    path.write_bytes(GOOD.encode() + f"2\n{LATTICE}\nSi 0 0 0\n".encode() + b"C 1.1 1.2 1.3 \xff\n")
    with pytest.raises(ValueError, match=rf"^{path}, line 8: not UTF-8 text \(byte 0xff at column 15\)"):
        list(iter_labelled(path))


def test_a_byte_order_mark_is_accepted(tmp_path):
    plain, marked = tmp_path / "plain.xyz", tmp_path / "marked.xyz"
    plain.write_text(GOOD)
    marked.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    (_, a), = iter_labelled(plain)
    (_, b), = iter_labelled(marked)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert reference_of(a).energy == reference_of(b).energy == -2.0


def test_frames_without_lattice_and_pbc_warn_once_naming_the_first(tmp_path):
    path = tmp_path / "data.xyz"
    bare = "2\nProperties=species:S:1:pos:R:3 energy=-2.0\nSi 0 0 0\nC 1.1 1.2 1.3\n"
    with pytest.warns(StructureWarning) as caught:
        labelled = frames(path, bare + bare)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"{path}, frame 1 (line 5): no Lattice= and no pbc=")
    assert "GPUMD's nep refuses such a frame" in message
    assert [atoms.pbc.any() for _, atoms in labelled] == [True, False, False]


@pytest.mark.parametrize("comment", ['pbc="F F F" Lattice="20 0 0 0 20 0 0 0 20"', 'pbc="F F F"',
                                     LATTICE])
def test_a_frame_that_says_what_it_is_does_not_warn(tmp_path, comment):
    with warnings.catch_warnings():
        warnings.simplefilter("error", StructureWarning)
        frames(tmp_path / "data.xyz", f"2\n{comment} Properties=species:S:1:pos:R:3\n"
                                      "Si 0 0 0\nC 1.1 1.2 1.3\n")


def test_predict_reports_a_malformed_frame_without_a_traceback(tmp_path, capsys):
    model = tmp_path / "nep.txt"
    random_model(("Si", "C"), cutoff=(5.0, 4.0), n_neuron=4).write(str(model))
    data = tmp_path / "data.xyz"
    data.write_text(GOOD + f"2\n{LATTICE} Properties=species:S:1:pos:R\nSi 0 0 0\nC 1.1 1.2 1.3\n")
    code = main(["predict", str(model), str(data), "-o", str(tmp_path / "out"), "--backend",
                 "reference", "--no-plots"])
    assert code == 2
    assert f"{data}, line 6: frame 1: Properties=species:S:1:pos:R is not" in capsys.readouterr().err
