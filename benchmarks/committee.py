"""A committee of M same-architecture models in one pass vs M separate ``predict`` runs.

Members: M models with the architecture of ../shared/models/gpumd/nep_prediction
(nep4, Te/Pb, cutoffs 8/4 Å, n_max 6/6, basis 6/6, l_max 4/2/0, 30 neurons)
and random weights (``random_model``, one seed each), so no file is needed.
Data: that directory's 25 structures x 250 atoms repeated ``--repeat`` times
in memory when ../shared is there, else as many generated 216-atom rattled
PbTe cells.

Three ways to get every member's energies and forces, timed in interleaved
rounds (best round of each, benchmarks/timing.py):

* ``separate``: ``gpunep.predict`` once per member (what a user scripts today);
* ``member by member``: ``predict_committee`` evaluating each member with its
  own backend, as it does for members of different architectures;
* ``one pass``: ``predict_committee`` as it runs for members of one
  architecture: the structures packed once and one set of neighbor lists per
  batch, then each member's potential.

With ``--from-file`` the structures are first written to an extended XYZ
file in a temporary directory and every method is given its path, as
``gpunep active`` and an active-learning script give theirs: the separate
runs then read the file once per member, the committee once.

    python benchmarks/committee.py [--members 4] [--repeat 8] [--threads 1] [--seconds 5] [--from-file]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from unittest import mock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=4, help="committee size M (default 4)")
    parser.add_argument("--repeat", type=int, default=8, help="copies of the 25 structures (default 8)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS (default 1)")
    parser.add_argument("--seconds", type=float, default=5.0, help="time per method (default 5)")
    parser.add_argument("--backend", default="host")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--from-file", action="store_true",
                        help="give every method the path of an extxyz file of the structures")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # before the host kernels' OpenMP runtime loads
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from timing import best_round_seconds

    import gpunep.committee_spread
    from gpunep import predict, predict_committee, random_model

    members = [random_model(("Te", "Pb"), cutoff=(8.0, 4.0), n_max=(6, 6), basis_size=(6, 6),
                            l_max=(4, 2, 0), n_neuron=30, seed=seed) for seed in range(args.members)]
    structures, what = data(args.repeat)
    n_atoms = sum(len(a) for a in structures)
    n_frames = len(structures)
    if args.from_file:
        import ase.io

        folder = tempfile.TemporaryDirectory()
        path = Path(folder.name) / "structures.xyz"
        ase.io.write(path, structures, format="extxyz")
        structures, what = str(path), what + ", read from an extxyz file by every method"
    options = dict(backend=args.backend, precision=args.precision, progress=False)
    print(f"{args.members} members (nep_prediction's architecture, random weights); {what}: "
          f"{n_frames} structures, {n_atoms} atoms; {args.backend} {args.precision}, "
          f"OMP_NUM_THREADS={args.threads}, {os.cpu_count()} cores on this machine")

    def separate() -> None:
        for model in members:
            predict(model, structures, **options)

    def member_by_member() -> None:
        with mock.patch.object(gpunep.committee_spread, "one_pass_backend", return_value=None):
            predict_committee(members, structures, **options)

    def one_pass() -> None:
        predict_committee(members, structures, **options)

    methods = {"separate": separate, "member by member": member_by_member, "one pass": one_pass}
    for run in methods.values():   # compile, size the batches and the lists
        run()
    best = best_round_seconds(methods, args.seconds)
    for name, seconds in best.items():
        print(f"{name:>17}: {n_frames / seconds:8.1f} frames/s  "
              f"{args.members * n_atoms / seconds:10.0f} member-atom evaluations/s  "
              f"{best['separate'] / seconds:5.2f}x separate")


def data(repeat: int) -> tuple[list, str]:
    """nep_prediction's structures x ``repeat`` when ../shared is there, else generated cells."""
    import ase.io
    import numpy as np
    from ase.build import bulk

    shared = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "gpumd" / "nep_prediction"
    if (shared / "train.xyz").is_file():
        return ase.io.read(shared / "train.xyz", ":") * repeat, "nep_prediction train.xyz x " + str(repeat)
    rng = np.random.default_rng(0)
    cells = []
    for _ in range(25 * repeat):
        atoms = bulk("PbTe", "rocksalt", a=6.46, cubic=True) * (3, 3, 3)
        atoms.positions += rng.normal(scale=0.1, size=atoms.positions.shape)
        cells.append(atoms)
    return cells, "generated rattled PbTe 216-atom cells"


if __name__ == "__main__":
    main()
