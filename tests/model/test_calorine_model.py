"""calorine's Model converted in memory: the same model gpunep reads from the file, every field.

The oracle is gpunep's own reader of the same nep.txt (checked against the
documented format and GPUMD's files in test_io.py): what calorine read
from a file and gpunep converted must equal what gpunep reads from it,
header, parameters and restart, bit for bit. calorine reads only NEP4
models, so the generated flavours are its NEP4 ones.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.model import read_model
from gpunep.model.calorine_model import is_calorine_model
from gpunep.model.io import parameter_vector, restart_vectors
from model_cases import FLAVOURS, make_flavour, real_model_params

calorine_nep = pytest.importorskip("calorine.nep", reason="calorine not installed (the test extra)")

NEP4_FLAVOURS = [name for name, kwargs in FLAVOURS.items() if kwargs.get("version", 4) == 4]
HEADER = ("version", "model_type", "types", "radial_cutoff", "angular_cutoff", "max_neighbors_radial",
          "max_neighbors_angular", "n_max_radial", "n_max_angular", "n_basis_radial",
          "n_basis_angular", "l_max_3b", "l_max_4b", "l_max_5b", "has_q_112", "has_q_123",
          "has_q_233", "has_q_134", "n_neuron", "zbl", "zbl_typewise_cutoff_factor", "charge_mode",
          "sqrt_epsilon_infinity", "radial_typewise_cutoff_factor", "angular_typewise_cutoff_factor")


def assert_same_model(converted, expected) -> None:
    for name in HEADER:
        assert getattr(converted, name) == getattr(expected, name), name
    assert type(converted.radial_cutoff) is type(expected.radial_cutoff)
    assert np.array_equal(parameter_vector(converted), parameter_vector(expected))
    assert (converted.restart_parameters is None) == (expected.restart_parameters is None)
    if expected.restart_parameters is not None:
        for mine, theirs in zip(restart_vectors(converted), restart_vectors(expected)):
            assert np.array_equal(mine, theirs)


@pytest.mark.parametrize("path", real_model_params())
def test_real_models_convert_to_what_gpunep_reads(path):
    with open(path) as handle:
        if handle.readline().split()[0].startswith(("nep3", "nep5")):
            pytest.skip("calorine reads NEP4 models only")
    theirs = calorine_nep.read_model(str(path))
    assert is_calorine_model(theirs)
    assert_same_model(read_model(theirs), read_model(path))


@pytest.mark.parametrize("name", NEP4_FLAVOURS)
def test_every_nep4_flavour_converts_with_its_restart(name, tmp_path):
    model = make_flavour(name, seed=3).make_restart()
    model.write(str(tmp_path / "nep.txt"))
    model.write_restart(str(tmp_path / "nep.restart"))
    theirs = calorine_nep.read_model(str(tmp_path / "nep.txt"), str(tmp_path / "nep.restart"))
    assert_same_model(read_model(theirs), read_model(tmp_path / "nep.txt", tmp_path / "nep.restart"))


def test_conversion_is_in_memory_with_every_digit(tmp_path):
    make_flavour("charge2", seed=4).write(str(tmp_path / "nep.txt"))
    theirs = calorine_nep.read_model(str(tmp_path / "nep.txt"))
    (tmp_path / "nep.txt").unlink()   # nothing is re-read from disk
    theirs.ann_parameters["Te"]["w1_charge"][3] = 0.1234567890123456   # an edit nep.txt would round
    theirs.q_scaler[0] = 2.0 / 3.0
    ours = read_model(theirs)
    assert ours.ann_parameters["Te"]["w1_charge"][0, 3] == 0.1234567890123456
    assert ours.q_scaler[0] == 2.0 / 3.0
    ours.ann_parameters["Te"]["w0"][0, 0] = 99.0   # a copy: the calorine model is untouched
    assert theirs.ann_parameters["Te"]["w0"][0, 0] != 99.0


@pytest.mark.parametrize("field, value, message", [
    ("n_neuron_second_layer", 8, "a second hidden layer is not supported"),
    ("vdw", True, r"van der Waals terms \(vdw\) is not supported"),
    ("max_neighbors_radial", None, "max_neighbors_radial is not set"),
])
def test_calorine_features_gpunep_lacks_are_refused(field, value, message, tmp_path):
    make_flavour("nep4").write(str(tmp_path / "nep.txt"))
    theirs = calorine_nep.read_model(str(tmp_path / "nep.txt"))
    setattr(theirs, field, value)
    with pytest.raises(ValueError, match=message):
        read_model(theirs)


def test_arrays_of_the_wrong_shape_are_named(tmp_path):
    make_flavour("nep4").write(str(tmp_path / "nep.txt"))
    theirs = calorine_nep.read_model(str(tmp_path / "nep.txt"))
    theirs.ann_parameters["Pb"]["w0"] = theirs.ann_parameters["Pb"]["w0"][:, :-1]
    with pytest.raises(ValueError, match=r"calorine model: ann_parameters\['Pb'\]\['w0'\] has shape"):
        read_model(theirs)
