"""Plain float64 numpy reference implementation of NEP (NEP_SPEC §3).

``evaluate(model, batch)`` gives energies, forces and virials;
``compute_descriptors(model, batch)`` the scaled per-atom descriptors.
"""

from gpunep.reference.evaluate import compute_descriptors, evaluate

__all__ = ["evaluate", "compute_descriptors"]
