"""Speed on one GPU, in one run: gpunep cuda against gpunep host and nep-adapters' CUDA backend.

Cases (sizes adjustable, ``--sizes``):

* C_2024 diamond and NEP89 on a mixed fcc structure at 10^3 .. 10^6 atoms:
  atom-steps/s of one evaluation (energies, forces, virial; per-atom
  outputs left on the device) and peak device memory;
* the cases of the CPU benchmark: UNEP (16 species) on a 4000-atom random
  alloy, NEP89 on 2000 atoms, C_2024 diamond 512 and 4096 atoms;
* batch prediction: ``gpunep.predict`` on ``--frames`` structures of 64-216
  atoms (frames/s), and the nep_prediction train.xyz repeated 8 times;
* one MD step through ``gpunep.evaluate`` (C_2024 diamond): CuPy arrays on
  the backend's GPU, whose results stay there (gpunep/device_resident.py),
  against numpy arrays copied to the GPU and back.

Every method runs once to warm up (kernels compiled, buffers sized), then is
timed over rounds of ``--seconds``; the median round is kept. gpunep's
``evaluate`` returns after its one device-to-host copy, so its wall time
includes all GPU work. nep-adapters' CUDA backend is timed the same way
through ``NEPCalculator(backend='cuda').predict_arrays`` on arrays composed
once. Writes ``gpu_bench.json`` and a Markdown table into ``--out``.

    python -P benchmarks/gpu/bench_gpu.py --models DIR --out DIR [--sizes 1000,...]
                                          [--dry-run]

``--dry-run`` times gpunep host (and nep-adapters' CPU backend) on small
sizes only, to prove the script end to end on a machine without a GPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np

SIZES = (1000, 10_000, 100_000, 1_000_000)
DRY_SIZES = (512, 4096)
HOST_MAX_ATOMS = 100_000  # larger host cases would take most of the lease


def median_seconds(run: Callable[[], object], seconds: float, max_rounds: int = 50) -> float:
    """Median wall time of ``run`` over rounds filling about ``seconds`` (at least 3)."""
    run()  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < 3 or (time.perf_counter() < deadline and len(times) < max_rounds):
        tic = time.perf_counter()
        run()
        times.append(time.perf_counter() - tic)
    return statistics.median(times)


def diamond(n_atoms: int):
    """Rattled diamond carbon of about ``n_atoms`` atoms (8 per cubic cell)."""
    from ase.build import bulk

    k = max(1, round((n_atoms / 8) ** (1 / 3)))
    atoms = bulk("C", "diamond", a=3.567, cubic=True).repeat((k, k, k))
    atoms.rattle(0.02, seed=k)
    return atoms


def mixed_fcc(species, n_atoms: int, seed: int = 0):
    """An fcc box of about ``n_atoms`` atoms with random species (``gpunep bench``'s structures)."""
    from gpunep.bench import generated_structures

    return generated_structures(species, 1, max(1, round((n_atoms / 4) ** (1 / 3))), seed=seed)[0]


class Peers:
    """The methods timed for a model: gpunep cuda/host, nep-adapters cuda/cpu (as available)."""

    def __init__(self, model_path: Path, dry_run: bool):
        from gpunep import read_model

        self.path = model_path
        self.model = read_model(model_path)
        self.dry_run = dry_run
        self.adapters = _adapters(model_path, "cpu" if dry_run else "cuda")

    def time_structure(self, atoms, precision: str, seconds: float) -> dict:
        from gpunep.backends import get_backend
        from gpunep.structures import pack

        batch = pack(atoms, self.model)
        row = {"atoms": len(atoms)}
        names = ["host"] if self.dry_run else ["cuda"] + (["host"] if len(atoms) <= HOST_MAX_ATOMS else [])
        for name in names:
            backend = get_backend(self.model, name, precision)
            memory = _device_memory() if name == "cuda" else None
            t = median_seconds(lambda: backend.evaluate(batch, per_atom=False), seconds)
            row[f"gpunep {name} {precision}"] = len(atoms) / t
            if memory is not None:
                row["gpunep cuda peak GiB"] = memory() / 2**30
            del backend
        if self.adapters is not None:
            row.update(self._time_adapters(atoms, seconds))
        return row

    def _time_adapters(self, atoms, seconds: float) -> dict:
        label = f"nep-adapters {'cpu' if self.dry_run else 'cuda'}"
        try:
            arrays = self.adapters.compose_structures([atoms])
            types, positions, boxes, pbc = arrays
            counts = np.array([len(atoms)], dtype=np.int32)
            before = _free_device_bytes()
            t = median_seconds(lambda: self.adapters.predict_arrays(types, positions, boxes, counts, pbc),
                               seconds)
            out = {label: len(atoms) / t}
            if before is not None:
                out[f"{label} device GiB in use"] = (before - _free_device_bytes()) / 2**30
            return out
        except Exception as exc:  # a peer's limit (memory, unsupported model) is a result too
            return {label: f"failed: {type(exc).__name__}: {exc}"[:200]}


def _adapters(path: Path, backend: str):
    try:
        from nep_adapters import NEPCalculator
    except ImportError as exc:
        print(f"nep-adapters is not importable ({exc}): no column for it")
        return None
    try:
        return NEPCalculator(str(path), backend=backend)
    except Exception as exc:
        print(f"nep-adapters {backend} could not load {path.name}: {exc}")
        return None


def _device_memory() -> Callable[[], int]:
    """A reader of the peak bytes CuPy's pool holds from now on (the pool emptied first)."""
    import cupy

    pool = cupy.get_default_memory_pool()
    pool.free_all_blocks()
    return lambda: pool.total_bytes()


def _free_device_bytes() -> int | None:
    try:
        import cupy

        return int(cupy.cuda.Device().mem_info[0])
    except Exception:
        return None


def structure_cases(models: Path, sizes, dry_run: bool, seconds: float) -> list[dict]:
    """C_2024 diamond and NEP89 over ``sizes``, plus the CPU benchmark's single structures."""
    c2024 = Peers(models / "gpumd/potentials/C_2024_NEP4.txt", dry_run)
    nep89 = Peers(models / "nep89/nep89.txt", dry_run)
    unep = Peers(models / "gpumd/potentials/Song-2024-UNEP-v1-AgAlAuCrCuMgMoNiPbPdPtTaTiVWZr.txt",
                 dry_run)
    nep89_species = ("H", "C", "O", "Fe", "Pt", "Si", "N", "Cu")
    cases = [("C_2024 diamond", c2024, diamond(n)) for n in sizes]
    cases += [("NEP89 mixed fcc", nep89, mixed_fcc(nep89_species, n)) for n in sizes]
    cases += [("C_2024 diamond", c2024, diamond(n)) for n in (512, 4096) if n not in sizes]
    cases += [("UNEP random alloy", unep, mixed_fcc(unep.model.types, 4000, seed=1)),
              ("NEP89 2000 atoms", nep89, mixed_fcc(nep89_species, 2000, seed=2))]
    rows = []
    for label, peers, atoms in cases:
        row = {"case": label, **peers.time_structure(atoms, "float32", seconds)}
        print(row, flush=True)
        rows.append(row)
    return rows


def batch_cases(models: Path, frames: int, dry_run: bool, seconds: float) -> list[dict]:
    """Frames per second of ``gpunep.predict`` (and nep-adapters' ``predict_structures``)."""
    from ase.io import read

    from gpunep import predict

    rng = np.random.default_rng(5)
    shapes = [(2, 2, 2), (2, 2, 4), (3, 3, 3)]  # 64, 128, 216 atoms
    carbon = [diamond(8 * int(np.prod(shapes[k]))) for k in rng.integers(0, 3, frames)]
    prediction = models / "gpumd/nep_prediction"
    cases = [("C_2024 batch of 64-216-atom frames", models / "gpumd/potentials/C_2024_NEP4.txt", carbon),
             ("nep_prediction train.xyz x 8", prediction / "nep.txt",
              read(prediction / "train.xyz", index=":") * 8)]
    rows = []
    for label, path, structures in cases:
        backend = "host" if dry_run else "cuda"
        t = median_seconds(lambda: predict(path, structures, backend=backend, progress=False), seconds,
                           max_rounds=5)
        row = {"case": label, "frames": len(structures), f"gpunep predict {backend} frames/s": len(structures) / t}
        adapters = _adapters(path, "cpu" if dry_run else "cuda")
        if adapters is not None:
            try:
                t = median_seconds(lambda: adapters.predict_structures(structures), seconds, max_rounds=5)
                row[f"nep-adapters predict_structures frames/s"] = len(structures) / t
            except Exception as exc:
                row["nep-adapters predict_structures frames/s"] = f"failed: {exc}"[:200]
        print(row, flush=True)
        rows.append(row)
    return rows


def md_step_cases(models: Path, sizes, dry_run: bool, seconds: float) -> list[dict]:
    """Atom-steps/s of ``gpunep.evaluate`` as an MD driver calls it: numpy in and out, and
    (on a GPU) CuPy arrays that stay on the device, timed until the results are ready."""
    import gpunep
    from gpunep.backends import get_backend

    model = gpunep.read_model(models / "gpumd/potentials/C_2024_NEP4.txt")
    backend = get_backend(model, "host" if dry_run else "cuda", "float32")
    rows = []
    for n in sizes:
        atoms = diamond(n)
        arrays = dict(positions=atoms.positions, numbers=atoms.numbers, cell=np.asarray(atoms.cell[:]))
        row = {"case": f"evaluate, C_2024 diamond {len(atoms)} atoms"}
        t = median_seconds(lambda: gpunep.evaluate(backend, **arrays, pbc=True), seconds)
        row["numpy in and out, atom-steps/s"] = len(atoms) / t
        if not dry_run:
            import cupy

            on_gpu = {name: cupy.asarray(value) for name, value in arrays.items()}

            def step() -> None:
                gpunep.evaluate(backend, **on_gpu, pbc=True)
                cupy.cuda.get_current_stream().synchronize()

            t = median_seconds(step, seconds)
            row["CuPy in and out (stays on the GPU), atom-steps/s"] = len(atoms) / t
            row["transfers of the evaluation"] = backend.transfers
        print(row, flush=True)
        rows.append(row)
    return rows


def markdown(rows: list[dict]) -> str:
    """One table per kind of row (the keys of the first row of each kind)."""
    out, columns = [], None
    for row in rows:
        keys = list(row)
        if keys != columns:
            columns = keys
            out += ["", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
        out.append("| " + " | ".join(_cell(row[k]) for k in keys) + " |")
    return "\n".join(out) + "\n"


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, required=True, help="the carried copy of shared/models")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--frames", type=int, default=10_000, help="structures of the batch case")
    parser.add_argument("--seconds", type=float, default=2.0, help="timing per method and case")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args()
    sizes = DRY_SIZES if args.dry_run else tuple(int(s) for s in args.sizes.split(",") if s)
    frames = min(args.frames, 200) if args.dry_run else args.frames
    rows = structure_cases(args.models, sizes, args.dry_run, args.seconds)
    rows += batch_cases(args.models, frames, args.dry_run, args.seconds)
    rows += md_step_cases(args.models, sizes, args.dry_run, args.seconds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_bench.json").write_text(json.dumps(rows, indent=1))
    (args.out / "gpu_bench.md").write_text(markdown(rows))
    print(markdown(rows))


if __name__ == "__main__":
    main()
