"""One pass for a committee: shared upload and neighbor lists, each member's potential.

The oracle is each member's own backend evaluating the same batch: the same
kernels run on the same lists with the same parameters, so every output must
be bitwise equal (no tolerance), including after the lists overflow and grow.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from gpunep.backends import get_backend
from gpunep.model import random_model
from gpunep.structures import pack

ARCHITECTURE = dict(cutoff=(5.0, 4.0), n_max=(4, 3), basis_size=(6, 5), l_max=(4, 2, 1), n_neuron=10,
                    zbl=(1.0, 2.0))
MEMBERS = [random_model(("Te", "Pb"), seed=seed, **ARCHITECTURE) for seed in (1, 2, 3)]
OUTPUTS = ("energy", "forces", "virial", "energies", "virials")


def rattled(a: float, repeat: tuple[int, int, int], seed: int):
    atoms = bulk("PbTe", "rocksalt", a=a, cubic=True) * repeat
    atoms.rattle(0.1, seed=seed)
    return atoms


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_each_member_bitwise_equals_its_own_backend_also_after_lists_grow(precision):
    engine = get_backend(MEMBERS[0], "host", precision)
    sparse = pack([rattled(6.6, (1, 1, 1), 1), rattled(6.4, (2, 1, 1), 2)], MEMBERS[0])
    # compressed by a quarter: more neighbors than the capacities the sparse batch set
    dense = pack([rattled(4.8, (2, 1, 1), 3), rattled(5.0, (1, 1, 1), 4)], MEMBERS[0])
    engine.evaluate_members(sparse, MEMBERS, per_atom=True)
    capacity = engine.neighbor_maxima.capacity_radial
    for batch in (sparse, dense):
        results = engine.evaluate_members(batch, MEMBERS, per_atom=True)
        for model, result in zip(MEMBERS, results):
            alone = get_backend(model, "host", precision).evaluate(batch, per_atom=True)
            for name in OUTPUTS:
                assert np.array_equal(getattr(result, name), getattr(alone, name)), name
    assert engine.neighbor_maxima.capacity_radial > capacity   # the dense batch made the lists grow
    assert not np.array_equal(results[0].forces, results[1].forces)  # the members differ


def test_one_download_per_member_and_no_more():
    engine = get_backend(MEMBERS[0], "host")
    batch = pack([rattled(6.4, (2, 1, 1), 5)], MEMBERS[0])
    engine.evaluate_members(batch, MEMBERS)
    assert engine.transfers == 1 + len(MEMBERS)   # the first evaluation counts neighbors once
    engine.evaluate_members(batch, MEMBERS)
    assert engine.transfers == len(MEMBERS)


@pytest.mark.parametrize("change, reason", [
    (dict(n_neuron=12), "the architectures differ"),
    (dict(cutoff=(5.5, 4.0)), "the cutoffs differ"),
    (dict(zbl=(0.9, 2.0)), None),   # ZBL's radii are parameters, not architecture
])
def test_a_member_of_another_architecture_is_refused_by_index(change, reason):
    engine = get_backend(MEMBERS[0], "host")
    other = random_model(("Te", "Pb"), seed=4, **(ARCHITECTURE | change))
    batch = pack([rattled(6.4, (1, 1, 1), 6)], MEMBERS[0])
    why = engine.cannot_share(other)
    if reason is None:
        assert why is None
        result = engine.evaluate_members(batch, [MEMBERS[0], other])[1]
        alone = get_backend(other, "host").evaluate(batch)
        assert np.array_equal(result.forces, alone.forces)
        return
    assert reason in why
    with pytest.raises(ValueError, match=f"committee member 1 cannot share .*: {reason}"):
        engine.evaluate_members(batch, [MEMBERS[0], other])


def test_other_species_or_model_types_cannot_share():
    engine = get_backend(MEMBERS[0], "host")
    swapped = random_model(("Pb", "Te"), seed=1, **ARCHITECTURE)
    assert "species" in engine.cannot_share(swapped)
    dipole = random_model(("Te", "Pb"), model_type="dipole", seed=1)
    assert "only potentials" in engine.cannot_share(dipole)
    assert "only potentials" in get_backend(dipole, "host").cannot_share(dipole)


def test_no_members_on_a_fresh_backend():
    engine = get_backend(MEMBERS[0], "host")
    assert engine.evaluate_members(pack([rattled(6.4, (1, 1, 1), 6)], MEMBERS[0]), []) == []
