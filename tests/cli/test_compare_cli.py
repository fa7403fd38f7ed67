"""`gpunep compare`: a model against itself, against keep_species of it, against a prune."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest

from conftest import shared_file
from gpunep import read_model
from gpunep.cli import main
from gpunep.compare import compare
from gpunep.edit_cost import prune_cost
from gpunep.model import editing


@pytest.fixture(scope="module")
def gpumd_folder():
    return shared_file("gpumd/nep_prediction/nep.txt").parent


@pytest.fixture(scope="module")
def self_comparison(gpumd_folder):
    # the reference backend on 25 x 250 atoms, once for the module
    model = gpumd_folder / "nep.txt"
    return compare(model, model, gpumd_folder / "train.xyz", backend="reference",
                   gpumd_outputs=gpumd_folder)


def test_model_against_itself_is_zero_and_matches_gpumd(self_comparison):
    result = self_comparison
    for prop in ("energy", "force", "virial"):
        assert result.max_difference(prop) == 0.0  # same deterministic float64 evaluation
    assert result.verdict() == "VERDICT: A and B give identical predictions (max |A-B| = 0)"
    # against GPUMD's float32 %g files: an exact implementation is within 6.4e-6 eV/atom,
    # 2.0e-5 eV/Å, 4.9e-6 eV/atom (docs/validation.md#expected-agreement)
    assert result.a_vs_gpumd.max_abs("energy") <= 1e-5
    assert result.a_vs_gpumd.max_abs("force") <= 5e-5
    assert result.a_vs_gpumd.max_abs("virial") <= 1e-5
    assert result.gpumd_reference_mismatch == {"energy": 0.0, "force": 0.0}
    # A vs the data set's energies, and the RMSE of GPUMD's own two columns: the RMSEs differ by at
    # most max |Δ| of the inputs, i.e. 6.4e-6 (prediction, docs/validation.md#expected-agreement) +
    # 5e-6 (%g of the reference column) eV/atom
    energy = np.loadtxt(shared_file("gpumd/nep_prediction/energy_train.out"))
    assert result.a_vs_reference.rmse("energy") == pytest.approx(
        np.sqrt(np.mean((energy[:, 0] - energy[:, 1]) ** 2)), abs=1.14e-5)
    assert "WARNING" not in result.report()


def _pb_only(gpumd_folder, tmp_path, count=3):
    """Pb-only structures: train.xyz frames with their Te atoms deleted."""
    frames = ase.io.read(gpumd_folder / "train.xyz", f":{count}")
    for atoms in frames:
        del atoms[[a.index for a in atoms if a.symbol == "Te"]]
    path = tmp_path / "pb_only.xyz"
    ase.io.write(path, frames, format="extxyz")
    return path


def test_keep_species_reports_zero(gpumd_folder, tmp_path, capsys):
    original = read_model(gpumd_folder / "nep.txt")
    kept = editing.keep_species(original, ["Pb"])  # Pb becomes type 0
    kept_file = tmp_path / "nep_pb.txt"
    kept.write(str(kept_file))
    data = _pb_only(gpumd_folder, tmp_path)
    # float64 round-off of the same sums (compare.ROUND_OFF["float64"] and below)
    code = main(["compare", str(gpumd_folder / "nep.txt"), str(kept_file), str(data),
                 "--backend", "reference", "--tolerance", "energy=1e-10,force=1e-9,virial=1e-10"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.strip().splitlines()[-1].startswith("VERDICT: PASS")
    result = compare(original, kept, data, backend="reference")
    assert result.max_difference("energy") <= 1e-10
    assert result.max_difference("force") <= 1e-9


def test_keep_species_of_a_multi_species_model_with_zbl(tmp_path):
    from ase.build import bulk

    path = shared_file("gpumd/potentials/Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt")
    unep = read_model(path)
    kept = editing.keep_species(unep, ["Cu", "Ag"])
    structures = []
    for seed in range(2):
        atoms = bulk("Cu", "fcc", a=3.8, cubic=True) * (2, 2, 2)
        atoms.symbols[np.random.default_rng(seed).permutation(32)[:12]] = "Ag"
        atoms.rattle(0.1, seed=seed)  # short pairs reach into the ZBL range
        structures.append(atoms)
    result = compare(unep, kept, structures, backend="host", precision="float64")
    # the same float64 kernels on the same structures: sums in another order at most
    assert result.max_difference("energy") <= 1e-10
    assert result.max_difference("force") <= 1e-9
    assert result.max_difference("virial") <= 1e-10


def test_pruned_model_reports_the_change(gpumd_folder, tmp_path, capsys):
    original = read_model(gpumd_folder / "nep.txt")
    pruned = editing.prune(original, n_neuron=20)
    pruned_file = tmp_path / "nep_pruned.txt"
    pruned.write(str(pruned_file))
    structures = ase.io.read(gpumd_folder / "train.xyz", ":3")
    data = tmp_path / "three.xyz"
    ase.io.write(data, structures, format="extxyz")
    result = compare(original, pruned_file, data, backend="reference")
    # the model-editing module's own measure of the same change, computed independently
    cost = prune_cost(original, read_model(pruned_file), ase.io.read(data, ":"))
    assert result.a_vs_b.rmse("energy") == pytest.approx(cost.energy_rmse, rel=1e-9)
    assert result.a_vs_b.max_abs("energy") == pytest.approx(cost.energy_max, rel=1e-9)
    assert result.a_vs_b.rmse("force") == pytest.approx(cost.force_rmse, rel=1e-9)
    assert cost.energy_max > 1e-4  # a real change, far above round-off
    assert result.verdict().startswith("VERDICT: B differs from A")

    code = main(["compare", str(gpumd_folder / "nep.txt"), str(pruned_file), str(data),
                 "--backend", "reference", "--tolerance", "energy=1e-6"])
    out = capsys.readouterr().out
    assert code == 1
    verdict = out.strip().splitlines()[-1]
    assert verdict.startswith("VERDICT: FAIL: energy max |A-B|") and "> tolerance 1e-06" in verdict
    assert main(["compare", str(gpumd_folder / "nep.txt"), str(pruned_file), str(data),
                 "--backend", "reference", "--tolerance", "energy=1"]) == 0


def test_bad_tolerance_is_a_clear_error(gpumd_folder, capsys):
    model = str(gpumd_folder / "nep.txt")
    assert main(["compare", model, model, str(gpumd_folder / "train.xyz"),
                 "--tolerance", "stress=1"]) == 2
    assert "unknown tolerance 'stress'" in capsys.readouterr().err
