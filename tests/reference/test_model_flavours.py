"""NEP3 / NEP4 / NEP5 networks, typewise cutoffs, and the model type the reference refuses (temperature).

The flavours are related by exact identities (docs/network.md#nep3-nep4-and-nep5,
docs/descriptors.md#pair-cutoffs), so the comparisons hold to float64
round-off (1e-12 relative).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from ase import Atoms

from gpunep.errors import UnsupportedModelError
from gpunep.model import random_model
from gpunep.reference import compute_descriptors, evaluate
from gpunep.structures import pack
from reference_cases import run

TOL = 1e-12


def structure() -> Atoms:
    rng = np.random.default_rng(0)
    cell = np.array([[4.2, 0.0, 0.0], [1.0, 4.0, 0.0], [0.5, 0.7, 4.3]])
    return Atoms(["Si", "C", "C", "Si", "C"], scaled_positions=rng.uniform(0, 1, (5, 3)),
                 cell=cell, pbc=True)


def assert_same(a, b):
    assert np.abs(a.energies - b.energies).max() <= TOL * np.abs(a.energies).max()
    assert np.abs(a.forces - b.forces).max() <= TOL * np.abs(a.forces).max()
    assert np.abs(a.virials - b.virials).max() <= TOL * np.abs(a.virials).max()


def test_nep3_is_nep4_with_the_shared_network_copied_per_species():
    nep3 = random_model(("Si", "C"), version=3, seed=1, n_neuron=6)
    nep4 = copy.deepcopy(nep3)
    nep4.version = 4
    shared = nep3.ann_parameters["all_species"]
    nep4.ann_parameters = {"Si": copy.deepcopy(shared), "C": copy.deepcopy(shared),
                           "b1": nep3.ann_parameters["b1"]}
    assert_same(run(nep3, structure()), run(nep4, structure()))


def test_nep5_subtracts_a_per_species_bias():
    nep5 = random_model(("Si", "C"), version=5, seed=2, n_neuron=6)
    nep4 = copy.deepcopy(nep5)
    nep4.version = 4
    for symbol in nep4.types:
        del nep4.ann_parameters[symbol]["b1_species"]
    a, b = run(nep5, structure()), run(nep4, structure())
    bias = np.array([nep5.ann_parameters[s]["b1_species"] for s in structure().get_chemical_symbols()])
    assert np.abs(a.energies - (b.energies - bias)).max() <= TOL * np.abs(b.energies).max()
    assert np.abs(a.forces - b.forces).max() <= TOL * np.abs(b.forces).max()


def test_equal_per_type_cutoffs_are_the_uniform_cutoff():
    uniform = random_model(("Si", "C"), seed=3, cutoff=(4.5, 3.5))
    typewise = copy.deepcopy(uniform)
    typewise.radial_cutoff, typewise.angular_cutoff = [4.5, 4.5], [3.5, 3.5]
    assert_same(run(uniform, structure()), run(typewise, structure()))


@pytest.mark.parametrize("distance, inside", [(4.45, True), (4.55, False)])
def test_pair_cutoff_is_the_mean_of_the_two_species(distance, inside):
    # radial cutoffs Si 5.0, C 4.0: a Si-C pair is cut at 4.5 Å (docs/descriptors.md#pair-cutoffs)
    model = random_model(("Si", "C"), seed=4, cutoff=([5.0, 4.0], [3.0, 3.0]))
    dimer = Atoms(["Si", "C"], positions=[[0, 0, 0], [distance, 0, 0]])
    radial = compute_descriptors(model, pack(dimer, model))[:, :model.n_max_radial + 1]
    assert np.all(radial != 0) if inside else np.all(radial == 0)


def test_temperature_models_are_refused_by_name():
    model = random_model(("Si", "C"), model_type="temperature", seed=6)
    with pytest.raises(UnsupportedModelError, match="temperature"):
        evaluate(model, pack(structure(), model))
    with pytest.raises(UnsupportedModelError, match="temperature"):
        compute_descriptors(model, pack(structure(), model))


def test_invariant_that_needs_a_higher_l_max_is_refused():
    # q_134 reads l = 4 sums; with l_max_3b = 3 GPUMD would read uninitialised memory
    # (docs/descriptors.md#invariant-requirements)
    model = random_model(("Si", "C"), seed=7, l_max=(3, 0, 0, 0, 0, 0, 1))
    with pytest.raises(UnsupportedModelError, match="q_134"):
        evaluate(model, pack(structure(), model))
