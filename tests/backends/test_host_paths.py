"""Code paths the host's performance work added, each against the numpy reference.

* the radial force without pre-contraction (a batch with more species than
  gpunep.engine.plans.potential.MAX_PRECONTRACTED_TYPES) and with it (few species);
* buffers an evaluator keeps between evaluations (another batch of the same
  size, then another size);
* repeated evaluations, whose launches run first on one thread and then on
  the OpenMP team (kernels/cuda_shim.h threads never cooperate, so the
  results must not change by a single bit).

Tolerance: 1e-10 relative, as in test_agreement.py (float64 on both sides,
different summation orders only).
"""

from __future__ import annotations

import numpy as np

from backends.test_agreement import (QUANTITIES, RTOL_FLOAT64, assert_agrees, relative_error,
                                     structure_zoo)
from gpunep import reference
from gpunep.backends.kernel import KernelBackend
from gpunep.engine.plans.potential import MAX_PRECONTRACTED_TYPES
from gpunep.model import random_model
from gpunep.structures import pack

MANY = ("H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S",
        "Cl", "Ar", "K", "Ca")


def test_more_species_than_pre_contracted_types():
    model = random_model(MANY, cutoff=(5.0, 4.0), seed=21)
    structures = structure_zoo(model.types, seed=3)
    present = np.unique(pack(structures, model).types)
    assert len(present) > MAX_PRECONTRACTED_TYPES  # the per-pair contraction path
    assert_agrees(model, structures)


def test_few_species_of_a_many_species_model():
    model = random_model(MANY, cutoff=(5.0, 4.0), seed=22)
    structures = structure_zoo(("O", "Si", "Ca"), seed=4)
    assert len(np.unique(pack(structures, model).types)) <= MAX_PRECONTRACTED_TYPES
    assert_agrees(model, structures)


def test_an_evaluator_reusing_its_buffers_matches_the_reference():
    """An evaluator keeps its buffers between evaluations: a second batch of the same
    size (moved atoms, other neighbor counts), then a smaller one, are still exact."""
    symbols = ("Te", "Pb")
    model = random_model(symbols, zbl=(1.0, 2.0), seed=31)
    structures = structure_zoo(symbols, seed=5)
    moved = [atoms.copy() for atoms in structures]
    for atoms in moved:
        atoms.positions += np.random.default_rng(6).normal(0, 0.05, atoms.positions.shape)
    backend = KernelBackend(model, "host", "float64")
    backend.evaluate(pack(structures, model), descriptors=True)
    for batch in (pack(moved, model), pack(moved[:-1], model)):
        result = backend.evaluate(batch, descriptors=True)
        expected = reference.evaluate(model, batch, descriptors=True)
        for name in QUANTITIES:
            error = relative_error(getattr(result, name), getattr(expected, name))
            assert error <= RTOL_FLOAT64, (name, error)


def test_repeated_evaluations_are_bitwise_identical():
    model = random_model(("Te", "Pb"), seed=41)
    batch = pack(structure_zoo(model.types, seed=7) * 8, model)
    backend = KernelBackend(model, "host", "float32")
    # per-structure totals come from a fixed-order reduction (kernels/nep_reduce.cu), not atomics
    results = [backend.evaluate(batch, descriptors=True) for _ in range(10)]
    for later in results[1:]:
        for name in QUANTITIES:
            np.testing.assert_array_equal(getattr(later, name), getattr(results[0], name),
                                          err_msg=name)
