"""``backend='auto'`` never picks a broken GPU, and says why it did not pick it.

Each way a real installation breaks is injected into the CuPy stand-in
(gpunep.testing): a driver older than CuPy's CUDA, no device, no NVRTC
library (the plain cupy-cuda1Nx wheels), a compile error, a module the
driver cannot load, a failing launch. For each: ``NEPCalculator(model)``
evaluates on the host with ONE warning naming the cause, an explicit
``backend='cuda'`` raises BackendUnavailableError with the same words, and
``gpunep doctor`` prints them too.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from ase.build import bulk

from gpunep import NEPCalculator
from gpunep.backends import get_backend
from gpunep.doctor import doctor_report
from gpunep.errors import BackendFallbackWarning, BackendUnavailableError
from gpunep.executors import cuda
from gpunep.model import random_model
from gpunep.testing import cuda_standin

MODEL = random_model(("Si",), seed=21)
# the words a user must see for each failure: what is missing, and how to get it
DIAGNOSES = {
    "driver": ["driver is older than the CUDA", "CuPy needs 13.0", "gpunep[cuda12]"],
    "no_device": ["sees no CUDA device"],
    "nvrtc": ["cannot load NVRTC", "libnvrtc.so.13", "pip install 'gpunep[cuda13]'"],
    "compile": ["NVRTC failed to compile a trivial kernel"],
    "load": ["driver cannot load a kernel", "UNSUPPORTED_PTX_VERSION", "update the driver"],
    "launch": ["trivial kernel failed to run", "CUDA_ERROR_LAUNCH_FAILED"],
}


def _silicon():
    atoms = bulk("Si", "diamond", a=5.43, cubic=True)
    atoms.rattle(0.05, seed=1)
    return atoms


@pytest.mark.parametrize("failure", sorted(DIAGNOSES))
def test_auto_falls_back_to_host_with_one_warning_that_says_why(failure: str):
    expected_energy = NEPCalculator(MODEL, backend="host").get_potential_energy(_silicon())
    with cuda_standin(fail=failure):
        with pytest.warns(BackendFallbackWarning) as caught:
            calc = NEPCalculator(MODEL)
        assert calc.backend.name == "host"
        assert calc.get_potential_energy(_silicon()) == expected_energy
        message = str(caught[0].message)
        assert len(caught) == 1 and message.startswith("backend='auto' evaluates on the CPU")
        for words in DIAGNOSES[failure]:
            assert words in message, (words, message)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # once per process: a second calculator is quiet
            assert NEPCalculator(MODEL).backend.name == "host"
        with pytest.raises(BackendUnavailableError) as explicit:
            get_backend(MODEL, "cuda")
        assert str(explicit.value) in message
        assert str(explicit.value) in doctor_report()


def test_without_cupy_auto_is_quiet_and_cuda_says_what_to_install():
    with cuda_standin(fail="no_cupy"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert NEPCalculator(MODEL).backend.name == "host"
        with pytest.raises(BackendUnavailableError, match=r"needs CuPy.*pip install 'gpunep\[cuda13\]'"):
            get_backend(MODEL, "cuda")
        assert "CuPy: not installed" in doctor_report()
        # asking for a GPU by number is asking for CuPy: that fallback is not silent
        with pytest.warns(BackendFallbackWarning, match="needs CuPy"):
            assert get_backend(MODEL, "auto", device=0).name == "host"


def test_a_working_gpu_is_picked_and_named_by_the_doctor():
    with cuda_standin():
        assert cuda.is_available()
        calc = NEPCalculator(MODEL)
        assert calc.backend.name == "cuda" and calc.backend.device == 0
        host = NEPCalculator(MODEL, backend="host")
        assert np.array_equal(calc.get_forces(_silicon()), host.get_forces(_silicon()))
        assert "cuda backend: usable on GPU 0" in doctor_report()


def test_a_gpu_that_does_not_exist_is_named():
    with cuda_standin(devices=2):
        with pytest.raises(BackendUnavailableError, match=r"no GPU 2: CuPy sees 2 \(device 0..1\)"):
            get_backend(MODEL, "cuda", device=2)
        with pytest.warns(BackendFallbackWarning, match="no GPU 2"):
            assert get_backend(MODEL, "auto", device=2).name == "host"


def test_cpu_backends_refuse_a_device():
    with pytest.raises(ValueError, match="device=1 chooses a GPU; the host executor runs on the CPU"):
        get_backend(MODEL, "host", device=1)
    with pytest.raises(ValueError, match="reference backend runs on the CPU"):
        get_backend(MODEL, "reference", device=0)
