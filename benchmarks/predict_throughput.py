"""Frames per second of batched prediction, against a calculator loop and nep-adapters.

Measured in one run on one machine, so the ratios compare like with like:

* ``gpunep.predict`` (all structures packed into batches) on a backend
  (default ``host``, float32 and float64);
* gpunep's ``NEPCalculator`` called structure by structure (same backend);
* nep-adapters' ``NEPCalculator(backend='cpu').predict_structures`` (NEP_CPU
  behind a batched API), if nep-adapters is installed. It is not a gpunep
  dependency: ``pip install nep-adapters`` to include it.

Default data: ../shared/models/gpumd/nep_prediction (a Te/Pb NEP4 model and
25 structures x 250 atoms); elsewhere a synthetic model of the same
architecture on generated rocksalt cells. Not part of the test suite.

gpunep's host backend and NEP_CPU both run OpenMP: each thread count of
``--threads`` (default 1 and 2) runs in its own process with
``OMP_NUM_THREADS`` set, so every ratio compares equal thread counts.

    python benchmarks/predict_throughput.py [--model nep.txt --data train.xyz] [--seconds 5]
                                            [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from timing import best_round_seconds  # benchmarks/timing.py, next to this script

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "gpumd" / "nep_prediction"


def _inputs(args):
    import ase.io

    if args.model and args.data:
        return Path(args.model), ase.io.read(args.data, ":"), f"{args.model} on {args.data}"
    if (SHARED / "nep.txt").is_file():
        return SHARED / "nep.txt", ase.io.read(SHARED / "train.xyz", ":"), "GPUMD nep_prediction (25 x 250 atoms)"
    from ase.build import bulk

    from gpunep import random_model

    model = random_model(("Te", "Pb"), cutoff=(8.0, 4.0), n_max=(6, 6), basis_size=(6, 6),
                         l_max=(4, 2, 0), n_neuron=30, max_neighbors=(73, 8), seed=1)
    path = Path(tempfile.mkdtemp()) / "nep.txt"
    model.write(str(path))
    rng = np.random.default_rng(0)
    structures = []
    for _ in range(25):
        atoms = bulk("PbTe", "rocksalt", a=6.5, cubic=True) * (4, 4, 2)  # 256 atoms
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        structures.append(atoms)
    return path, structures, "SYNTHETIC Te/Pb model (random weights), 25 generated 256-atom cells"


def _measure(methods: dict, n_frames: int, seconds: float) -> tuple[dict, dict]:
    """Best frames per second of every method (interleaved rounds, benchmarks/timing.py)
    and each method's output."""
    outputs = {key: run() for key, run in methods.items()}  # warm-up: kernels, buffers
    best = best_round_seconds(methods, seconds)
    return {key: n_frames / t for key, t in best.items()}, outputs


def _loop(calc, structures):
    def run():
        values = []
        for atoms in structures:
            atoms = atoms.copy()
            atoms.calc = calc
            values.append(atoms.get_potential_energy())
            atoms.get_forces()
        return np.array(values)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--data")
    parser.add_argument("--backend", default="host")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per method")
    parser.add_argument("--threads", default="1,2", help="comma-separated OMP_NUM_THREADS values")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args)
        return
    for threads in args.threads.split(","):
        command = [sys.executable, __file__, "--child", "--backend", args.backend,
                   "--seconds", str(args.seconds)]
        if args.model and args.data:
            command += ["--model", args.model, "--data", args.data]
        subprocess.run(command, env=dict(os.environ, OMP_NUM_THREADS=threads.strip()), check=True)


def measure(args) -> None:
    """One process, one OpenMP thread count: every method, interleaved, and the ratios."""
    from gpunep import NEPCalculator, read_model
    from gpunep.prediction import predict

    model_path, structures, label = _inputs(args)
    model = read_model(model_path)
    n = len(structures)
    print(f"data: {label}; {n} structures, {sum(len(a) for a in structures)} atoms; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '(OpenMP default)')} "
          "(gpunep host and NEP_CPU alike)\n")
    methods = {}
    for precision in ("float32", "float64"):
        methods[f"gpunep predict ({args.backend}, {precision})"] = (
            lambda p=precision: predict(model, structures, backend=args.backend, precision=p,
                                        progress=False).energy)
        methods[f"gpunep NEPCalculator loop ({args.backend}, {precision})"] = _loop(
            NEPCalculator(model, backend=args.backend, precision=precision), structures)
    adapters_key = "nep-adapters predict_structures (cpu, float64)"
    try:
        from nep_adapters import NEPCalculator as AdaptersCalculator

        adapters = AdaptersCalculator(str(model_path), backend="cpu")
        methods[adapters_key] = lambda: np.asarray(adapters.predict_structures(structures).energy).reshape(-1)
    except ImportError:
        print("nep-adapters is not installed (pip install nep-adapters): its ratio is left out\n")
    except Exception as exc:  # report and go on with the other ratios
        print(f"nep-adapters could not run: {type(exc).__name__}: {exc}\n")

    rates, energies = _measure(methods, n, args.seconds)
    first = next(iter(energies.values()))
    print(f"{'method':<50} {'frames/s':>10} {'max |ΔE| vs first (eV)':>24}")
    for key, rate in rates.items():
        print(f"{key:<50} {rate:>10.2f} {np.abs(energies[key] - first).max():>24.3g}")
    print("\nratios (same process, same machine, same thread count):")
    for precision in ("float32", "float64"):
        mine = rates[f"gpunep predict ({args.backend}, {precision})"]
        loop = rates[f"gpunep NEPCalculator loop ({args.backend}, {precision})"]
        print(f"  predict / NEPCalculator loop, {precision}: {mine / loop:.2f}x")
        if adapters_key in rates:
            print(f"  predict {precision} / {adapters_key}: {mine / rates[adapters_key]:.2f}x")


if __name__ == "__main__":
    main()
