"""What an edit costs: the energy and force changes between a model and its edit, by evaluation.

Model editing (:mod:`gpunep.model.editing`) works on parameters only; this
module evaluates both models with the float64 numpy reference to measure
what an edit changes on given structures, before any retraining.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from gpunep.reference import evaluate
from gpunep.structures import pack

if TYPE_CHECKING:
    from ase import Atoms

    from gpunep.model import Model


@dataclass(frozen=True)
class EditCost:
    """How much an edit changes predictions on a set of structures.

    Attributes
    ----------
    energy_change : (S,) per-structure energy change per atom, edited - original (eV/atom)
    force_change : (N, 3) per-atom force change, edited - original (eV/Å)
    """

    energy_change: np.ndarray
    force_change: np.ndarray

    @property
    def energy_rmse(self) -> float:
        """Root-mean-square energy change per atom over the structures (eV/atom)."""
        return float(np.sqrt(np.mean(self.energy_change**2)))

    @property
    def energy_max(self) -> float:
        """Largest absolute energy change per atom (eV/atom)."""
        return float(np.max(np.abs(self.energy_change)))

    @property
    def force_rmse(self) -> float:
        """Root-mean-square force-component change over all atoms (eV/Å)."""
        return float(np.sqrt(np.mean(self.force_change**2)))

    @property
    def force_max(self) -> float:
        """Largest change of one atom's force vector, as a length (eV/Å)."""
        return float(np.max(np.linalg.norm(self.force_change, axis=1)))

    def __str__(self) -> str:
        return (f"energy change: RMSE {self.energy_rmse:.3e} eV/atom, max {self.energy_max:.3e} eV/atom; "
                f"force change: RMSE {self.force_rmse:.3e} eV/Å, max {self.force_max:.3e} eV/Å "
                f"({len(self.energy_change)} structures, {len(self.force_change)} atoms)")


def prune_cost(model: Model, pruned: Model, structures: "Atoms | Sequence[Atoms]") -> EditCost:
    """Energy and force change that ``pruned`` (or any edit of ``model``) causes on ``structures``.

    Both models are evaluated with the float64 numpy reference, so the
    numbers show what a prune costs before any retraining. The structures may
    contain only species both models have.
    """
    before = evaluate(model, pack(structures, model))
    after = evaluate(pruned, pack(structures, pruned))
    before.check_finite()
    after.check_finite()
    atoms = np.diff(pack(structures, model).offsets)
    if np.any(atoms == 0):
        raise ValueError("prune_cost needs structures with at least one atom each")
    return EditCost(energy_change=(after.energy - before.energy) / atoms,
                    force_change=after.forces - before.forces)
