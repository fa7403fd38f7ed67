"""On a real GPU: the cuda executor against the host executor, and against GPUMD's own outputs.

Run with ``python -m pytest -m gpu`` (benchmarks/gpu/run.sh does, on a lent
GPU); every test skips, saying why, where CuPy cannot build and run kernels.

Tolerance, cuda float64 against host float64: 1e-12 relative to each
output's largest magnitude. Both compute in double from the same source;
they differ only where the compilers do: NVRTC contracts ``a * b + c`` into
fused multiply-adds everywhere (``--fmad=true``, CuPy's default) and takes
exp/sin/cos from CUDA's libdevice (within 2 ulp), where g++ contracts
differently and calls glibc (within 1 ulp). A few ulps per operation add up
to ~1e-14 over a few hundred neighbours; 1e-12 leaves that margin and
nothing a real bug could hide in. (``-ftz`` only concerns float32.)
float32 against GPUMD's nep_prediction outputs: the print resolution of
those files, as tests/backends/test_gpumd_float32.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from gpunep.backends.kernel import KernelBackend
from gpunep.model import Model, random_model
from gpunep.structures import pack

from .test_agreement import CASES, Case, relative_error, shared_model, structure_zoo
from .test_gpumd_float32 import ENERGY_TOL, FORCE_TOL, PREDICTION, VIRIAL_TOL

pytestmark = pytest.mark.gpu
RTOL_CUDA_FLOAT64 = 1e-12  # see the module docstring
POTENTIALS = [c for c in CASES if c.id in ("C_2024", "UNEP_zbl", "NEP89", "Si_5body", "PbTe_pbte_nep4",
                                           "PbTe_nep3", "random_all_invariants_l8",
                                           "random_zbl_flexible", "random_typewise_cutoffs")]
OUTPUTS = ("energy", "energies", "forces", "virial", "virials", "descriptors", "charges", "raw_charges",
           "bec", "dipole", "polarizability")


@pytest.fixture(scope="module", autouse=True)
def gpu():
    from gpunep.executors import cuda

    probe = cuda.probe()
    if probe.error is not None:
        pytest.skip(f"no GPU the cuda executor can use: {probe.error}")
    return probe.device


def assert_cuda_matches_host(model: Model, structures) -> KernelBackend:
    batch = pack(structures, model)
    expected = KernelBackend(model, "host", "float64").evaluate(batch, descriptors=True)
    backend = KernelBackend(model, "cuda", "float64")
    result = backend.evaluate(batch, descriptors=True)
    for name in OUTPUTS:
        value, reference = getattr(result, name), getattr(expected, name)
        if reference is None:
            assert value is None, name
            continue
        assert relative_error(value, reference) <= RTOL_CUDA_FLOAT64, name
    # no atomics anywhere: a second evaluation is bitwise the first
    again = backend.evaluate(batch, descriptors=True)
    for name in OUTPUTS:
        if getattr(result, name) is not None:
            assert np.array_equal(getattr(again, name), getattr(result, name)), name
    assert backend.transfers == 1 and backend.synchronizations == 0
    return backend


@pytest.mark.parametrize("case", POTENTIALS)
def test_potentials_every_periodicity(case: Case):
    model = case.make()
    assert_cuda_matches_host(model, structure_zoo(case.symbols or model.types))


@pytest.mark.parametrize("path", ["gpumd/qnep_train/nep.txt", "nep_cpu_reference/qnep/nep.txt"])
def test_charge_models(path: str):
    model = shared_model(path)  # charge modes 2 and 1
    assert_cuda_matches_host(model, [s for s in structure_zoo(model.types) if s.pbc.all()])


@pytest.mark.parametrize("kind", ["dipole", "polarizability"])
def test_tensor_models(kind: str):
    model = shared_model(f"tnep/{kind}/nep.txt")
    assert_cuda_matches_host(model, structure_zoo(("H", "C", "O")))


def test_an_overflowing_list_grows_and_reruns():
    model = random_model(("Si",), seed=3)
    batch = pack(structure_zoo(("Si",)), model)
    backend = KernelBackend(model, "cuda", "float64")
    first = backend.evaluate(batch)
    backend.evaluator.capacity_radial = backend.evaluator.capacity_angular = 2
    rerun = backend.evaluate(batch)
    assert backend.transfers == 2  # the overflowing pass, then the rerun
    assert np.array_equal(rerun.forces, first.forces)


def test_device_selection_on_the_gpu(gpu):
    model = random_model(("Si",), seed=3)
    backend = KernelBackend(model, "cuda", device=gpu)
    assert backend.device == gpu
    assert backend.evaluate(pack(structure_zoo(("Si",)), model)).backend == "cuda"


def test_float32_reproduces_gpumd_nep_prediction():
    if not PREDICTION.is_dir():
        pytest.skip("../shared/models not present: GPUMD nep_prediction skipped")
    from ase.io import read

    model = shared_model("gpumd/nep_prediction/nep.txt")
    batch = pack(read(PREDICTION / "train.xyz", index=":"), model)
    result = KernelBackend(model, "cuda", "float32").evaluate(batch)
    counts = np.diff(batch.offsets)
    energy = np.loadtxt(PREDICTION / "energy_train.out")[:, 0]
    forces = np.loadtxt(PREDICTION / "force_train.out")[:, :3]
    virial = np.loadtxt(PREDICTION / "virial_train.out")[:, :6]
    w = result.virial
    ours = np.stack([w[:, 0, 0], w[:, 1, 1], w[:, 2, 2], w[:, 0, 1], w[:, 1, 2], w[:, 2, 0]], axis=1)
    assert np.abs(result.energy / counts - energy).max() <= ENERGY_TOL
    assert np.abs(result.forces - forces).max() <= FORCE_TOL
    assert np.abs(ours / counts[:, None] - virial).max() <= VIRIAL_TOL


def _inside_arrays() -> dict[str, np.ndarray]:
    """A zoo structure with its atoms wrapped into the cell: the host path's exact wrap
    and the device's then leave every bit alone, so the two paths must agree bitwise."""
    atoms = structure_zoo(("Si", "C"))[2].copy()
    atoms.wrap()
    return dict(positions=atoms.positions, numbers=atoms.numbers, cell=np.asarray(atoms.cell[:]),
                pbc=np.asarray(atoms.pbc))


def test_evaluate_keeps_cupy_arrays_on_the_gpu(gpu):
    import cupy

    import gpunep

    model = random_model(("Si", "C"), seed=31, zbl=(0.8, 1.6))
    arrays = _inside_arrays()
    backend = KernelBackend(model, "cuda", "float64", device=gpu)
    expected = gpunep.evaluate(backend, **arrays, properties=("energy", "forces", "stress"))
    with cupy.cuda.Device(gpu):
        results = gpunep.evaluate(backend, **{k: cupy.asarray(v) for k, v in arrays.items()},
                                  properties=("energy", "forces", "stress"))
    assert backend.transfers == 1  # the diagnostics: the results stayed on the device
    for name, value in results.items():
        assert isinstance(value, cupy.ndarray) and value.device.id == gpu, name
        assert np.array_equal(cupy.asnumpy(value), expected[name]), name   # same batch, same kernels


def test_evaluate_keeps_torch_cuda_tensors_on_the_gpu(gpu):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("this torch has no CUDA")
    import gpunep

    model = random_model(("Si", "C"), seed=31, zbl=(0.8, 1.6))
    arrays = _inside_arrays()
    backend = KernelBackend(model, "cuda", "float64", device=gpu)
    expected = gpunep.evaluate(backend, **arrays, properties=("energy", "forces", "stress"))
    device = torch.device("cuda", gpu)
    tensors = {k: torch.as_tensor(v, device=device) for k, v in arrays.items()}
    results = gpunep.evaluate(backend, **tensors, properties=("energy", "forces", "stress"))
    assert backend.transfers == 1
    for name, value in results.items():
        assert isinstance(value, torch.Tensor) and value.device == device, name
        assert np.array_equal(value.cpu().numpy(), expected[name]), name


def test_a_committee_in_one_pass_equals_each_member_alone(gpu):
    members = [random_model(("Si", "C"), seed=seed, zbl=(0.8, 1.6)) for seed in (1, 2, 3)]
    batch = pack(structure_zoo(("Si", "C")), members[0])
    backend = KernelBackend(members[0], "cuda", "float64", device=gpu)
    for model, result in zip(members, backend.evaluate_members(batch, members)):
        alone = KernelBackend(model, "cuda", "float64", device=gpu).evaluate(batch, per_atom=False)
        assert np.array_equal(result.forces, alone.forces) and np.array_equal(result.energy, alone.energy)
