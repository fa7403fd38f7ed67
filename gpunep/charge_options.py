"""The options of a charge model's electrostatics, passed on to a backend in one way by every front end.

``kspace`` picks the Ewald sum ('truncated' at ``|k| < 2 pi alpha`` like
GPUMD's trainer, or 'converged') and ``mean_d_correction`` the exact chain
rule through the charge neutralisation; see :func:`gpunep.reference.evaluate`.
Other model types have no electrostatics, so they get neither option.
"""

from __future__ import annotations

from typing import Any

CHARGE_MODEL_TYPE = "potential_with_charges"


def charge_options(model_type: str, kspace: str, mean_d_correction: bool) -> dict[str, Any]:
    """The keyword arguments of :func:`gpunep.backends.get_backend` for a model of ``model_type``.

    Returns
    -------
    ``{'kspace': ..., 'mean_d_correction': ...}`` for a charge model, ``{}`` otherwise.
    """
    if model_type != CHARGE_MODEL_TYPE:
        return {}
    return {"kspace": kspace, "mean_d_correction": mean_d_correction}
