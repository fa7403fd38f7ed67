"""Committees: predict_committee and CommitteeCalculator against M separate runs reduced with numpy,
and against GPUMD's own way of computing its active-learning uncertainty."""

from __future__ import annotations

import ase.io
import numpy as np
import pytest
from ase.build import bulk

from gpunep import CommitteeCalculator, NEPCalculator, predict, predict_committee, random_model
from gpunep.backends import get_backend
from gpunep.committee_spread import committee_spread, one_pass_backend
from gpunep.io.extxyz import iter_structures

# Per-structure energies are ~10-100 eV, forces ~1 eV/Å; the committee and a numpy
# reduction of separate runs differ only in summation order (eps 2.2e-16 x a few
# terms), so 1e-12 is ~1e3 x the round-off and far below any real disagreement.
ATOL = 1e-12
BACKEND = "host"


def member(seed: int):
    return random_model(("Te", "Pb"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5),
                        l_max=(4, 2, 0), n_neuron=10, seed=seed)


@pytest.fixture(scope="module")
def members():
    return [member(seed) for seed in (21, 22, 23)]


def structures():
    rng = np.random.default_rng(4)
    out = []
    for s in range(6):
        atoms = bulk("PbTe", "rocksalt", a=6.4, cubic=True) * (1 + s % 2, 1, 1)
        atoms.positions += rng.normal(scale=0.15, size=atoms.positions.shape)
        out.append(atoms)
    return out


def numpy_spread(runs, ddof):
    """The committee's spread from M separate predict runs, with numpy's own std."""
    energy = np.array([r.energy for r in runs])
    forces = np.array([r.forces for r in runs])
    force_std = np.sqrt(np.var(forces, axis=0, ddof=ddof).sum(axis=1))
    offsets = runs[0].offsets
    max_force_std = np.array([force_std[offsets[s]:offsets[s + 1]].max() for s in range(len(offsets) - 1)])
    return energy, np.std(energy, axis=0, ddof=ddof), force_std, max_force_std


def unlike_members(members):
    """A committee of two architectures (more neurons in the last): evaluated member by member."""
    return members[:2] + [random_model(("Te", "Pb"), cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5),
                                       l_max=(4, 2, 0), n_neuron=12, seed=24)]


@pytest.mark.parametrize("variance, ddof", [("population", 0), ("sample", 1)])
@pytest.mark.parametrize("alike", [True, False], ids=["one-pass", "member-by-member"])
def test_committee_equals_separate_runs_reduced_with_numpy(members, variance, ddof, alike):
    members = members if alike else unlike_members(members)
    engines = [get_backend(m, BACKEND) for m in members]
    assert (one_pass_backend(engines, members) is not None) == alike
    data = structures()
    runs = [predict(m, data, backend=BACKEND, progress=False) for m in members]
    energy, energy_std, force_std, max_force_std = numpy_spread(runs, ddof)
    result = predict_committee(members, data, backend=BACKEND, variance=variance, batch_size=4, progress=False)
    np.testing.assert_allclose(result.energy, energy, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.energy_std, energy_std, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.force_std, force_std, rtol=0, atol=ATOL)
    np.testing.assert_allclose(result.max_force_std, max_force_std, rtol=0, atol=ATOL)
    assert result.max_force_std.min() > 1e-3  # the members do disagree: the comparison is not of zeros


@pytest.mark.parametrize("copies", [2, 3])
def test_identical_members_spread_exactly_zero(members, copies):
    result = predict_committee([members[0]] * copies, structures(), backend=BACKEND, progress=False)
    assert np.all(result.energy_std == 0.0)
    assert np.all(result.force_std == 0.0)
    assert np.all(result.max_force_std == 0.0)


def gpumd_active_uncertainty(forces: np.ndarray) -> float:
    """GPUMD's active keyword, step by step: means of F and F^2 accumulated in
    F/M and F*F/M, then sqrt(mean(F^2) - mean(F)^2 summed over x, y, z), max over atoms."""
    n_members = len(forces)
    mean = np.zeros(forces.shape[1:])
    mean_square = np.zeros(forces.shape[1:])
    for f in forces:
        mean += f / n_members
        mean_square += f * f / n_members
    return float(np.sqrt((mean_square - mean * mean).sum(axis=1)).max())


def test_population_variance_is_what_gpumd_active_computes(members):
    atoms = structures()[1]
    forces = np.array([predict(m, atoms, backend=BACKEND, progress=False).forces for m in members])
    energy = np.zeros((len(members), 1))
    _, _, max_force_std = committee_spread(energy, forces, np.array([0, len(atoms)]), "population")
    # GPUMD's one-pass mean(F^2) - mean(F)^2 cancels ~|F|^2 eps / sigma: ~1e-14 here
    assert max_force_std[0] == pytest.approx(gpumd_active_uncertainty(forces), rel=1e-10)
    _, _, sample = committee_spread(energy, forces, np.array([0, len(atoms)]), "sample")
    # the same sums divided by M - 1 instead of M: a few roundings apart
    assert sample[0] == pytest.approx(max_force_std[0] * np.sqrt(3 / 2), rel=1e-13)


def test_select_and_write_extxyz_round_trip(members, tmp_path):
    data = structures()
    for s, atoms in enumerate(data):
        atoms.info["config_type"] = f"c{s}"
    result = predict_committee(members, data, backend=BACKEND, progress=False)
    threshold = float(np.median(result.max_force_std))
    selected = result.select(threshold)
    assert selected.indices.tolist() == np.flatnonzero(result.max_force_std > threshold).tolist()
    assert 0 < selected.n_structures < result.n_structures
    selected.write_extxyz(tmp_path / "selected.xyz")
    back = list(iter_structures(tmp_path / "selected.xyz"))
    assert len(back) == selected.n_structures
    for s, atoms in zip(selected.indices, back):
        original = data[s]
        assert atoms.get_chemical_symbols() == original.get_chemical_symbols()
        np.testing.assert_allclose(atoms.positions, original.positions, rtol=0, atol=1e-7)  # %.8f in extxyz
        np.testing.assert_allclose(atoms.cell[:], original.cell[:], rtol=0, atol=1e-7)
        assert atoms.info["index"] == s and atoms.info["config_type"] == f"c{s}"
        # ASE writes per-atom floats with 8 decimals: 5e-9 at most
        assert atoms.info["uncertainty"] == pytest.approx(result.max_force_std[s], rel=0, abs=1e-8)
        np.testing.assert_allclose(atoms.arrays["uncertainty"], result.force_std[result.offsets[s]:
                                   result.offsets[s + 1]], rtol=0, atol=1e-8)


@pytest.mark.parametrize("propagate", [0, 2])
def test_committee_calculator(members, propagate):
    atoms = structures()[3]
    atoms.calc = CommitteeCalculator(members, backend=BACKEND, propagate=propagate)
    driver = atoms.copy()
    driver.calc = NEPCalculator(members[propagate], backend=BACKEND)
    assert atoms.get_potential_energy() == driver.get_potential_energy()
    assert np.array_equal(atoms.get_forces(), driver.get_forces())
    assert np.array_equal(atoms.get_stress(), driver.get_stress())
    batch = predict_committee(members, [atoms], backend=BACKEND, progress=False)
    calc = atoms.calc
    np.testing.assert_allclose(calc.get_property("energy_comm", atoms), batch.energy[:, 0], rtol=0, atol=ATOL)
    assert calc.get_property("forces_comm", atoms).shape == (3, len(atoms), 3)
    np.testing.assert_allclose(calc.get_property("energy_std", atoms), batch.energy_std[0], rtol=0, atol=ATOL)
    np.testing.assert_allclose(calc.get_property("force_std", atoms), batch.force_std, rtol=0, atol=ATOL)
    np.testing.assert_allclose(calc.get_property("max_force_std", atoms), batch.max_force_std[0],
                               rtol=0, atol=ATOL)


def test_committee_errors(members):
    with pytest.raises(ValueError, match="at least 2 models"):
        predict_committee(members[:1], structures(), backend=BACKEND)
    with pytest.raises(ValueError, match="variance must be one of population, sample"):
        CommitteeCalculator(members, backend=BACKEND, variance="unbiased")
    with pytest.raises(ValueError, match="propagate must index one of the 3 models"):
        CommitteeCalculator(members, backend=BACKEND, propagate=3)
    dipole = random_model(("Te", "Pb"), model_type="dipole", seed=1)
    with pytest.raises(ValueError, match="committee member 1 is a 'dipole' model"):
        CommitteeCalculator([members[0], dipole], backend=BACKEND)


def test_active_command_line(members, tmp_path, capsys):
    from gpunep.cli import main

    paths = []
    for k, model in enumerate(members):
        paths.append(str(tmp_path / f"nep{k}.txt"))
        model.write(paths[-1])
    ase.io.write(tmp_path / "data.xyz", structures(), format="extxyz")
    result = predict_committee(paths, tmp_path / "data.xyz", backend=BACKEND, progress=False)
    threshold = float(np.median(result.max_force_std))
    code = main(["active", *paths, str(tmp_path / "data.xyz"), "--threshold", repr(threshold),
                 "-o", str(tmp_path / "selected.xyz"), "--backend", BACKEND])
    assert code == 0
    selected = [a.info["index"] for a in iter_structures(tmp_path / "selected.xyz")]
    assert selected == np.flatnonzero(result.max_force_std > threshold).tolist()
    assert f"{len(selected)} structures above" in capsys.readouterr().out
