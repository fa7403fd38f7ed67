"""Frames per second of ``gpunep.predict`` on a Dask LocalCluster of 1 and of 2 workers.

Data: ../shared/models/gpumd/nep_prediction (the Te/Pb NEP4 model and its
25 structures x 250 atoms), repeated 8 times in memory (200 structures,
50,000 atoms); the repetition is made at run time, nothing is written.

Every worker is one process with one Dask thread and OMP_NUM_THREADS=1, so
the ratio measures how the work spreads over worker processes; the
in-process row (no Dask, also one OpenMP thread) shows Dask's overhead.
The clusters and the in-process run are timed in interleaved rounds (best
round of each, benchmarks/timing.py), so a busy moment of a shared machine
hits all of them. On a machine with fewer free cores than workers the
ratio says so, not what the code can do: report the core count with it.

    python benchmarks/dask_scaling.py [--repeat 8] [--seconds 5] [--backend host]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ["OMP_NUM_THREADS"] = "1"  # before the host kernels' OpenMP runtime loads

from timing import best_round_seconds  # benchmarks/timing.py, next to this script  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "gpumd" / "nep_prediction"


def main() -> None:
    import ase.io
    from distributed import Client, LocalCluster

    from gpunep import predict, read_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=8, help="copies of the 25 structures (default 8)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per method (default 5)")
    parser.add_argument("--backend", default="host")
    args = parser.parse_args()

    model = read_model(SHARED / "nep.txt")
    structures = ase.io.read(SHARED / "train.xyz", ":") * args.repeat
    n_atoms = sum(len(a) for a in structures)
    print(f"data: nep_prediction train.xyz x {args.repeat}: {len(structures)} structures, {n_atoms} atoms; "
          f"backend {args.backend}; OMP_NUM_THREADS=1 everywhere; {os.cpu_count()} cores on this machine")

    def run(client=None):
        return lambda: predict(model, structures, backend=args.backend, client=client, progress=False)

    options = dict(threads_per_worker=1, processes=True, dashboard_address=":0",
                   env={"OMP_NUM_THREADS": "1"})
    with LocalCluster(n_workers=1, **options) as one, Client(one) as client_1, \
            LocalCluster(n_workers=2, **options) as two, Client(two) as client_2:
        methods = {"in process (no Dask)": run(), "1 Dask worker": run(client_1), "2 Dask workers": run(client_2)}
        for method in methods.values():
            method()  # warm-up: kernels loaded, one backend per worker built
        best = best_round_seconds(methods, args.seconds)
    rates = {key: len(structures) / seconds for key, seconds in best.items()}
    for key, rate in rates.items():
        print(f"{key:<22} {rate:8.1f} frames/s   {rate * n_atoms / len(structures):10.0f} atoms/s")
    print(f"2 workers / 1 worker: {rates['2 Dask workers'] / rates['1 Dask worker']:.2f}x; "
          f"1 worker / in process: {rates['1 Dask worker'] / rates['in process (no Dask)']:.2f}x")


if __name__ == "__main__":
    main()
