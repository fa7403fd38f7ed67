"""Shared test helpers.

Real models and GPUMD / NEP_CPU ground truth live outside the repository in
``../shared/models`` (relative to the repository root). A user's fresh clone
does not have them: tests that need them skip with the reason below.
Import the helper as ``from conftest import shared_models``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_MODELS = Path(__file__).resolve().parents[1].parent / "shared" / "models"
ABSENT_REASON = "../shared/models not present (a user's clone): tests on real models and GPUMD outputs skipped"


def shared_models() -> Path:
    """The folder of real models and reference outputs, or skip the calling test."""
    if not SHARED_MODELS.is_dir():
        pytest.skip(ABSENT_REASON)
    return SHARED_MODELS


def shared_file(relative: str) -> Path:
    """One file under ``../shared/models``, or skip the calling test when it is absent."""
    path = shared_models() / relative
    if not path.is_file():
        pytest.skip(f"../shared/models/{relative} not present")
    return path


@pytest.fixture
def shared_models_dir() -> Path:
    """Fixture form of :func:`shared_models`."""
    return shared_models()
