"""Host-backend throughput against batch size, with NEP_CPU measured in the same run.

For each batch shape, atom-steps per second of one ``evaluate`` call of the
``host`` backend (the batch packed once, the backend built once) and of
nep-adapters' ``predict_structures`` (NEP_CPU, if installed) on the same
structures, timed in interleaved rounds (best round of each, as timeit
reports). Per-atom throughput should not fall as the batch grows: the last
column gives each case's rate relative to the first case of its model.

Both libraries use OpenMP; each thread count runs in its own process with
``OMP_NUM_THREADS`` set (default: 1 and 2), so the ratios compare equal
thread counts.

    python benchmarks/host_scaling.py [--threads 1,2] [--seconds 2] [--precision float32]
                                      [--models nep89,pbte] [--profile]

``--profile`` prints the per-kernel wall times of each case (GPUNEP_PROFILE=1).
Models: ``nep89`` is the synthetic model of ``gpunep bench`` (NEP89's
architecture, random weights) on rattled fcc boxes with random species;
``pbte`` is ../shared/models/gpumd/nep_prediction/nep.txt on its own
train.xyz structures (cut or repeated to the case's size). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_round_seconds  # benchmarks/timing.py, next to this script

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "gpumd" / "nep_prediction"
#: (label, number of structures, atoms per structure)
CASES = (("1 x 32", 1, 32), ("32 x 32", 32, 32), ("64 x 32", 64, 32), ("1 x 256", 1, 256),
         ("8 x 256", 8, 256), ("1 x 2048", 1, 2048))
PBTE_CASES = (("1 x 250", 1, 250), ("5 x 250", 5, 250), ("25 x 250", 25, 250),
              ("1 x 2000", 1, 2000), ("4 x 2000", 4, 2000))


def _fcc(species, n_structures: int, n_atoms: int, seed: int):
    from gpunep.bench import generated_structures

    # four atoms per conventional fcc cell
    return generated_structures(species, n_structures, round((n_atoms / 4) ** (1 / 3)), seed=seed)


def _pbte(n_structures: int, n_atoms: int):
    import ase.io

    frames = ase.io.read(SHARED / "train.xyz", ":")
    out = []
    for s in range(n_structures):
        atoms = frames[s % len(frames)]
        if n_atoms > len(atoms):
            atoms = atoms.repeat((2, 2, 2))
        out.append(atoms[:n_atoms] if n_atoms < len(atoms) else atoms)
    return out


def _models(names):
    from gpunep import read_model
    from gpunep.bench import nep89_like_model

    for name in names:
        if name == "nep89":
            model = nep89_like_model()
            path = Path(tempfile.mkdtemp()) / "nep.txt"
            model.write(str(path))
            cases = [(label, _fcc(model.types, s, a, seed=a)) for label, s, a in CASES]
            yield "synthetic NEP89 architecture (random weights), fcc", path, model, cases
        elif name == "pbte" and (SHARED / "nep.txt").is_file():
            cases = [(label, _pbte(s, a)) for label, s, a in PBTE_CASES]
            yield "PbTe nep_prediction model, its train.xyz frames", SHARED / "nep.txt", \
                read_model(SHARED / "nep.txt"), cases


def _best_rates(methods: dict, n_atoms: int, seconds: float) -> dict:
    for run in methods.values():
        run()  # warm-up: kernels, buffers
    best = best_round_seconds(methods, seconds)
    return {key: n_atoms / t for key, t in best.items()}


def measure(args) -> None:
    """One process, one thread count: the table for every model and case."""
    from gpunep.backends import get_backend
    from gpunep.structures import pack

    threads = os.environ.get("OMP_NUM_THREADS", "(OpenMP default)")
    try:
        from nep_adapters import NEPCalculator as Adapters
    except ImportError:
        Adapters = None
        print("nep-adapters is not installed: no NEP_CPU column (pip install nep-adapters)")
    for label, path, model, cases in _models(args.models.split(",")):
        print(f"\n{label}; OMP_NUM_THREADS={threads}; host {args.precision}")
        print(f"{'case':<10} {'atoms':>6} {'gpunep atom-steps/s':>20} {'NEP_CPU':>10} "
              f"{'gpunep/NEP_CPU':>15} {'vs first case':>14}")
        engine = get_backend(model, "host", args.precision)
        adapters = Adapters(str(path), backend="cpu") if Adapters else None
        first = None
        for case, structures in cases:
            batch = pack(structures, model)
            methods = {"gpunep": lambda: engine.evaluate(batch)}
            if adapters is not None:
                methods["nep_cpu"] = lambda: adapters.predict_structures(structures)
            profile = getattr(engine.evaluator, "profile", None)  # None: older gpunep, or off
            if profile is not None:
                profile.clear()
            rates = _best_rates(methods, batch.n_atoms, args.seconds)
            first = first or rates["gpunep"]
            cpu = rates.get("nep_cpu")
            print(f"{case:<10} {batch.n_atoms:>6} {rates['gpunep']:>20.4g} "
                  f"{cpu if cpu else float('nan'):>10.4g} "
                  f"{rates['gpunep'] / cpu if cpu else float('nan'):>15.2f} "
                  f"{rates['gpunep'] / first:>14.2f}")
            if profile is not None:
                calls = profile.get("evaluate (total)", [1])[0]
                print(profile.table(per=calls * 1e-3, unit="ms per evaluation"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="comma-separated OMP_NUM_THREADS values")
    parser.add_argument("--seconds", type=float, default=2.0, help="time per method and case")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--models", default="nep89,pbte")
    parser.add_argument("--profile", action="store_true", help="per-kernel times (GPUNEP_PROFILE=1)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure(args)
        return
    for threads in args.threads.split(","):
        env = dict(os.environ, OMP_NUM_THREADS=threads.strip())
        if args.profile:
            env["GPUNEP_PROFILE"] = "1"
        command = [sys.executable, __file__, "--child", "--seconds", str(args.seconds),
                   "--precision", args.precision, "--models", args.models]
        subprocess.run(command, env=env, check=True)


if __name__ == "__main__":
    main()
