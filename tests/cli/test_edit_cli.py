"""`gpunep edit`: the edited files predict what the edit promises."""

from __future__ import annotations

import ase.io
import numpy as np

from conftest import shared_file
from gpunep import read_model
from gpunep.cli import main
from gpunep.model import editing
from gpunep.prediction import predict


def test_keep_with_restart_preserves_predictions(tmp_path, capsys):
    # = nep_train/nep.txt (docs/validation.md#reference-outputs)
    model = shared_file("gpumd/nep_prediction/nep.txt")
    restart = shared_file("gpumd/nep_train/nep.restart")
    out = tmp_path / "nep.txt"
    assert main(["edit", str(model), "-o", str(out), "--restart", str(restart), "--keep", "Pb"]) == 0
    assert "species Te, Pb -> Pb" in capsys.readouterr().out
    edited = read_model(out, restart_file=tmp_path / "nep.restart")  # written next to it
    assert edited.types == ("Pb",)
    frames = ase.io.read(model.parent / "train.xyz", ":2")
    for atoms in frames:
        del atoms[[a.index for a in atoms if a.symbol == "Te"]]
    before = predict(model, frames, backend="reference")
    after = predict(edited, frames, backend="reference")
    # the same float64 sums over the same Pb-Pb terms (round-off at most)
    np.testing.assert_allclose(after.energy, before.energy, rtol=0, atol=1e-10)
    np.testing.assert_allclose(after.forces, before.forces, rtol=0, atol=1e-10)


def test_augment_and_prune(tmp_path):
    model_path = shared_file("gpumd/nep_prediction/nep.txt")
    frames = ase.io.read(model_path.parent / "train.xyz", ":2")
    grown = tmp_path / "grown.txt"
    assert main(["edit", str(model_path), "-o", str(grown), "--augment", "n_neuron=40,l_max_5b=1"]) == 0
    model, augmented = read_model(model_path), read_model(grown)
    assert (augmented.n_neuron, augmented.l_max_5b) == (40, 1)
    # new neurons and descriptor columns start at zero: the same predictions (float64 round-off)
    np.testing.assert_allclose(predict(augmented, frames, backend="reference").forces,
                               predict(model, frames, backend="reference").forces, rtol=0, atol=1e-10)
    pruned = tmp_path / "pruned.txt"
    assert main(["edit", str(model_path), "-o", str(pruned), "--prune", "n_neuron=20"]) == 0
    api = tmp_path / "api.txt"
    editing.prune(model, n_neuron=20).write(str(api))
    assert pruned.read_bytes() == api.read_bytes()
    assert not (tmp_path / "pruned.restart").exists()  # no restart given, none written


def test_nothing_to_do_is_an_error(tmp_path, capsys):
    model_path = shared_file("gpumd/nep_prediction/nep.txt")
    assert main(["edit", str(model_path), "-o", str(tmp_path / "x.txt")]) == 2
    assert "nothing to do" in capsys.readouterr().err
    assert main(["edit", str(model_path), "-o", str(tmp_path / "x.txt"), "--augment", "n_neuron"]) == 2
    assert "name=value" in capsys.readouterr().err
