"""SNES restart parameters (nep.restart) for edited or restart-less models.

GPUMD's trainer keeps a mean ``mu`` and a width ``sigma`` per fitted
parameter (docs/file-formats.md#restart-file). After an edit the trained means are kept and the
widths are re-opened in proportion to each parameter's magnitude, so that
parameters SNES drove to zero stay dormant while active ones can adapt.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from gpunep.model.fields import AnyModel, ModelFields
from gpunep.model.io import parameter_vector, restart_from_vectors

SIGMA_FACTOR = 0.1
"""Default ``sigma / |mu|`` for re-opened parameters."""

SIGMA_FLOOR = 1e-3
"""Default smallest re-opened ``sigma``: near-zero parameters stay nearly dormant."""

SIGMA_NEW = 0.1
"""Default ``sigma`` for new parameters (GPUMD's ``sigma0`` default, docs/file-formats.md#training-input)."""


def check_sigma_settings(sigma_factor: float, sigma_floor: float, sigma_new: float | None = None) -> None:
    """Raise ValueError unless the sigma settings are finite and non-negative."""
    settings = {"sigma_factor": sigma_factor, "sigma_floor": sigma_floor}
    if sigma_new is not None:
        settings["sigma_new"] = sigma_new
    for name, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")


def adaptive_sigma(mu: np.ndarray | float, sigma_factor: float = SIGMA_FACTOR,
                   sigma_floor: float = SIGMA_FLOOR) -> np.ndarray | float:
    """``max(sigma_floor, sigma_factor * |mu|)``, elementwise; a float for a float."""
    sigma = np.maximum(sigma_floor, sigma_factor * np.abs(np.asarray(mu, dtype=np.float64)))
    return float(sigma) if np.ndim(mu) == 0 else sigma


def make_restart(model: AnyModel, sigma: float | str | None = "magnitude",
                 sigma_factor: float = SIGMA_FACTOR, sigma_floor: float = SIGMA_FLOOR) -> AnyModel:
    """A copy of ``model`` with restart parameters made from its own values.

    Users often have only nep.txt; this builds the nep.restart GPUMD needs to
    continue training. ``mu`` is the model's parameter values (nep.txt holds
    the best individual, which is the natural restart mean).

    Parameters
    ----------
    model
        Any model; an existing restart is replaced in the copy.
    sigma
        ``'magnitude'`` (or None): ``sigma = max(sigma_floor, sigma_factor |mu|)``
        per parameter. A number: that constant ``sigma`` for every parameter.
    sigma_factor, sigma_floor
        The magnitude rule's settings.

    Returns
    -------
    Model
        A new model whose ``restart_parameters`` are set; ``model`` is unchanged.
    """
    check_sigma_settings(sigma_factor, sigma_floor)
    n_fitted = model.n_ann_parameters + model.n_descriptor_parameters
    mu = parameter_vector(model)[:n_fitted]
    if sigma is None or (isinstance(sigma, str) and sigma == "magnitude"):
        sigmas = adaptive_sigma(mu, sigma_factor, sigma_floor)
    elif isinstance(sigma, str) or isinstance(sigma, bool):
        raise ValueError(f"sigma must be 'magnitude' or a positive number, got {sigma!r}")
    else:
        value = float(sigma)
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"a constant sigma must be finite and > 0, got {sigma!r}")
        sigmas = np.full_like(mu, value)
    out = model.copy()
    out.restart_parameters = restart_from_vectors(out, mu, sigmas)
    return out


def restart_trees(model: ModelFields, which: str) -> dict[str, Any]:
    """``{'ann', 'radial', 'angular'}`` view of ``restart_parameters`` for ``'mu'`` or ``'sigma'``."""
    restart = model.restart_parameters
    if restart is None:
        raise ValueError("the model has no restart parameters")
    return {"ann": restart[f"ann_{which}"], "radial": restart[f"radial_descriptor_{which}"],
            "angular": restart[f"angular_descriptor_{which}"]}


def restart_from_trees(mu: dict[str, Any], sigma: dict[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`restart_trees`: the ``restart_parameters`` dict."""
    return {"ann_mu": mu["ann"], "ann_sigma": sigma["ann"],
            "radial_descriptor_mu": mu["radial"], "radial_descriptor_sigma": sigma["radial"],
            "angular_descriptor_mu": mu["angular"], "angular_descriptor_sigma": sigma["angular"]}
