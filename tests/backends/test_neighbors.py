"""Neighbor lists (kernels/nep_neighbor.cu) against a brute-force numpy enumeration.

The brute force tries every atom pair of a structure over every lattice shift
in a box wide enough for the largest distance in the structure plus the
cutoff; it shares no code with the kernels. Both strategies ('small' and
'cell') must reproduce it, and each other bit for bit.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gpunep.executors import host
from gpunep.engine.neighbors import build_neighbor_lists, grown_capacity
from gpunep.geometry import image_counts

# Vectors agree to round-off: |r| <= ~30 Å here, and the kernels form r_j - r_i + k.cell
# with possibly fused multiply-adds (a few ulp of 30 Å is ~1e-14 Å).
VECTOR_ATOL = 1e-12


@pytest.fixture(scope="module", params=["float64", "float32"])
def module(request):
    # The lists are double in both builds; build only the neighbor kernels.
    return host.load_module(request.param, files=["nep_neighbor.cu"])


# ----------------------------------------------------------------- structures

def tiny_skewed():
    cell = np.array([[2.1, 0.0, 0.0], [1.7, 1.2, 0.0], [-0.9, 0.6, 1.4]])
    return dict(positions=np.array([[0.3, -0.2, 0.5]]), types=np.array([0]), cell=cell,
                pbc=np.array([True, True, True]))


def random_structure(rng, n, cell, pbc, n_types=2, scatter=1.0):
    """n atoms at random fractional coordinates, some moved a few cells away (unwrapped)."""
    frac = rng.random((n, 3))
    shift = rng.integers(-2, 3, size=(n, 3)) * (rng.random((n, 1)) < 0.3) * np.asarray(pbc)
    return dict(positions=(frac * scatter + shift) @ cell, types=rng.integers(0, n_types, n),
                cell=np.asarray(cell, float), pbc=np.asarray(pbc, bool))


def slab(rng, n=40):
    # periodic in a and b; the third vector is zero (it has no meaning along a free direction)
    cell = np.array([[7.0, 0.0, 0.0], [2.5, 6.5, 0.0], [0.0, 0.0, 0.0]])
    s = random_structure(rng, n, np.array([cell[0], cell[1], [0.0, 0.0, 9.0]]), [True, True, False])
    s["cell"] = cell
    return s


def molecule(rng, n=30):
    s = random_structure(rng, n, np.diag([8.0, 7.0, 9.0]), [False, False, False])
    s["cell"] = np.zeros((3, 3))
    return s


def wire(rng, n=25):
    # periodic along one skewed vector only
    cell = np.array([[1.5, 2.0, 3.5], [9.0, 0.0, 0.0], [0.0, 8.0, 0.0]])
    return random_structure(rng, n, cell, [True, False, False])


def skewed_bulk(rng, n=60):
    cell = np.array([[9.0, 0.0, 0.0], [6.5, 7.5, 0.0], [-3.0, 2.5, 8.0]])
    return random_structure(rng, n, cell, [True, True, True])


def batch(structures, n_types):
    """Device-layout arrays of a batch (the inputs build_neighbor_lists takes)."""
    counts = [len(s["types"]) for s in structures]
    offsets = np.zeros(len(structures) + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    positions = np.concatenate([s["positions"] for s in structures]).reshape(-1, 3)
    return dict(
        positions=np.ascontiguousarray(positions, dtype=np.float64),
        types=np.concatenate([s["types"] for s in structures]).astype(np.int32),
        cells=np.array([s["cell"] for s in structures], dtype=np.float64).reshape(-1, 3, 3),
        pbc=np.array([s["pbc"] for s in structures], dtype=np.int32).reshape(-1, 3),
        offsets=offsets,
    )


def pair_cutoffs(n_types, radial, angular):
    """Center-major (T*T,) pair cutoffs from (T, T) matrices."""
    return (np.ascontiguousarray(np.asarray(radial, float).reshape(n_types * n_types)),
            np.ascontiguousarray(np.asarray(angular, float).reshape(n_types * n_types)))


# ---------------------------------------------------------------- brute force

def brute_force(b, rc_radial, rc_angular, n_types):
    """Per atom, the (j, dx, dy, dz) entries of the radial and angular lists, sorted by (j, k).

    Atoms are first wrapped into the cell along the periodic vectors (a lattice
    translation leaves the set of images unchanged), then every pair is tried
    over every shift up to one more than the face distances require.
    """
    radial, angular = [], []
    rc_r = rc_radial.reshape(n_types, n_types)
    rc_a = rc_angular.reshape(n_types, n_types)
    rc_max = max(rc_r.max(), rc_a.max())
    for s in range(len(b["cells"])):
        lo, hi = b["offsets"][s], b["offsets"][s + 1]
        pos, typ = b["positions"][lo:hi], b["types"][lo:hi]
        cell, pbc = b["cells"][s], b["pbc"][s].astype(bool)
        lattice = np.where(pbc[:, None], cell, 0.0)
        wraps = np.zeros((len(pos), 3))
        if pbc.any():
            frac = np.linalg.lstsq(cell[pbc].T, pos.T, rcond=None)[0].T
            wraps[:, pbc] = np.floor(frac)
        wrapped = pos - wraps @ lattice
        reach = np.where(pbc, image_counts(cell, pbc, rc_max) + 1, 0)
        k = np.array(list(product(*[range(-int(r), int(r) + 1) for r in reach])))
        shifts = k @ lattice
        for i in range(hi - lo):
            vec = (wrapped - wrapped[i])[:, None, :] + shifts[None, :, :]  # (j, shift, 3)
            d2 = np.einsum("jkc,jkc->jk", vec, vec)
            d2[i, np.all(k == 0, axis=1)] = np.inf  # the zero-shift self pair
            for cut, out in ((rc_r, radial), (rc_a, angular)):
                rc = cut[typ[i], typ][:, None]
                j, m = np.nonzero(d2 < rc * rc)
                # the shift in terms of the positions as given: r_ij = r_j - r_i + k_raw . cell
                k_raw = k[m] + (wraps[j] - wraps[i]).astype(int)
                entries = sorted((int(jj) + lo, *kk, *vec[jj, mm]) for jj, mm, kk in zip(j, m, k_raw))
                out.append([(e[0], *e[4:]) for e in entries])
    return radial, angular


def lists_of(nl_obj, kind):
    """Per atom, the stored (j, dx, dy, dz) entries in stored order."""
    nn = getattr(nl_obj, f"nn_{kind}")
    lists = nl_obj.slot_major(kind)
    nl = lists["nl"]
    comps = [lists[f"d{c}"] for c in "xyz"]
    return [[(int(nl[s, i]), *(float(c[s, i]) for c in comps)) for s in range(nn[i])]
            for i in range(len(nn))]


def assert_same_lists(got, expected, kind):
    assert len(got) == len(expected)
    for i, (g, e) in enumerate(zip(got, expected)):
        assert [x[0] for x in g] == [x[0] for x in e], f"{kind} list of atom {i}: neighbors differ"
        np.testing.assert_allclose(np.array(g)[:, 1:] if g else np.zeros((0, 3)),
                                   np.array(e)[:, 1:] if e else np.zeros((0, 3)),
                                   rtol=0, atol=VECTOR_ATOL, err_msg=f"{kind} list of atom {i}")


def build(module, b, rc_r, rc_a, cap_r=400, cap_a=400, strategy="auto", out=None):
    return build_neighbor_lists(module, b["positions"], b["types"], b["cells"], b["pbc"],
                                b["offsets"], rc_r, rc_a, cap_r, cap_a, out=out, strategy=strategy)


def check_against_brute_force(module, structures, n_types, radial, angular, strategies=("small", "cell")):
    b = batch(structures, n_types)
    rc_r, rc_a = pair_cutoffs(n_types, radial, angular)
    exp_r, exp_a = brute_force(b, rc_r, rc_a, n_types)
    # room for every neighbor: a random skewed cell of 1.6 Å vectors holds 465 within
    # 5.3 Å (what overflowing lists hold is tested on its own)
    capacities = dict(cap_r=max(400, max(map(len, exp_r))), cap_a=max(400, max(map(len, exp_a))))
    built = {}
    for strategy in strategies:
        nl = build(module, b, rc_r, rc_a, strategy=strategy, **capacities)
        assert nl.strategy == strategy
        assert_same_lists(lists_of(nl, "radial"), exp_r, f"{strategy} radial")
        assert_same_lists(lists_of(nl, "angular"), exp_a, f"{strategy} angular")
        assert tuple(nl.max_counts) == (max(map(len, exp_r)), max(map(len, exp_a)))
        built[strategy] = nl
    if len(built) == 2:
        assert_bitwise_equal(built["small"], built["cell"])
    return exp_r, exp_a


def assert_bitwise_equal(a, b):
    for name in ("nn_radial", "nn_angular", "max_counts"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for kind in ("radial", "angular"):
        nn = getattr(a, f"nn_{kind}")
        lists_a, lists_b = a.slot_major(kind), b.slot_major(kind)
        for field in ("nl", "dx", "dy", "dz"):
            x, y = lists_a[field], lists_b[field]
            stored = np.arange(x.shape[0])[:, None] < nn[None, :]
            np.testing.assert_array_equal(x[stored], y[stored], err_msg=f"{field}_{kind}")


# ---------------------------------------------------------------------- tests

def test_one_atom_in_a_tiny_skewed_cell(module):
    # thickness ~1.1 Å against a 5 Å cutoff: dozens of self-images, no minimum image
    exp_r, exp_a = check_against_brute_force(module, [tiny_skewed()], 1, [[5.0]], [[3.7]])
    assert len(exp_r[0]) > 100 and len(exp_a[0]) > 30
    # the list of one atom with itself is symmetric: every image comes with its opposite
    vectors = np.array(exp_r[0])[:, 1:]
    np.testing.assert_allclose(np.sort(vectors, axis=0), np.sort(-vectors, axis=0), atol=1e-12)


def test_slab_periodic_in_two_directions(module):
    rng = np.random.default_rng(1)
    check_against_brute_force(module, [slab(rng)], 2, [[4.0, 4.5], [4.5, 5.0]], [[3.0, 3.2], [3.2, 3.4]])


def test_molecule_without_periodicity(module):
    rng = np.random.default_rng(2)
    check_against_brute_force(module, [molecule(rng)], 2, [[4.0, 4.5], [4.5, 5.0]], [[3.0, 3.0], [3.0, 3.0]])


def test_wire_periodic_along_one_skewed_vector(module):
    rng = np.random.default_rng(3)
    check_against_brute_force(module, [wire(rng)], 2, [[5.0, 5.0], [5.0, 5.0]], [[3.5, 3.5], [3.5, 3.5]])


def test_typewise_cutoffs_are_center_major(module):
    # deliberately asymmetric: row = center type, column = neighbor type
    rng = np.random.default_rng(4)
    radial = [[3.0, 4.0, 5.0], [4.5, 3.5, 2.5], [5.5, 2.0, 4.2]]
    angular = [[2.5, 3.0, 1.5], [3.5, 3.0, 2.0], [1.0, 2.0, 3.9]]
    exp_r, _ = check_against_brute_force(module, [skewed_bulk(rng, 50)], 3, radial, angular)
    assert sum(map(len, exp_r)) > 0


def test_mixed_batch_with_an_empty_structure(module):
    rng = np.random.default_rng(5)
    empty = dict(positions=np.zeros((0, 3)), types=np.zeros(0, int), cell=np.eye(3) * 5,
                 pbc=np.array([True, True, True]))
    structures = [skewed_bulk(rng, 20), tiny_skewed(), empty, slab(rng, 15), molecule(rng, 10),
                  wire(rng, 8), skewed_bulk(rng, 3)]
    check_against_brute_force(module, structures, 2, [[4.0, 4.5], [4.5, 5.0]], [[3.0, 3.2], [3.2, 3.4]])


def test_strategies_identical_on_a_large_structure(module):
    # a cell the cell list bins 3 x 3 x 3, with unwrapped atoms: bit-identical lists
    rng = np.random.default_rng(6)
    s = random_structure(rng, 1200, np.array([[16.0, 0, 0], [3.0, 15.5, 0], [-2.0, 1.5, 15.0]]),
                         [True, True, True])
    b = batch([s], 2)
    rc_r, rc_a = pair_cutoffs(2, [[5.0, 5.0], [5.0, 5.0]], [[4.0, 4.0], [4.0, 4.0]])
    small = build(module, b, rc_r, rc_a, strategy="small")
    cell = build(module, b, rc_r, rc_a, strategy="cell")
    assert build(module, b, rc_r, rc_a).strategy == "cell"  # auto: one structure of 1200 atoms
    assert_bitwise_equal(small, cell)
    assert small.max_counts[0] > 50


def test_overflow_reports_the_true_maximum(module):
    rng = np.random.default_rng(7)
    structures = [skewed_bulk(rng, 40), tiny_skewed()]
    b = batch(structures, 2)
    rc_r, rc_a = pair_cutoffs(2, [[4.0, 4.5], [4.5, 5.0]], [[3.0, 3.2], [3.2, 3.4]])
    exp_r, exp_a = brute_force(b, rc_r, rc_a, 2)
    true_max = (max(map(len, exp_r)), max(map(len, exp_a)))
    for strategy in ("small", "cell"):
        nl = build(module, b, rc_r, rc_a, cap_r=5, cap_a=2, strategy=strategy)
        assert tuple(nl.max_counts) == true_max  # the true counts, not the capacities
        np.testing.assert_array_equal(nl.nn_radial, np.minimum([len(e) for e in exp_r], 5))
        np.testing.assert_array_equal(nl.nn_angular, np.minimum([len(e) for e in exp_a], 2))
        # a full list keeps the smallest keys, so it is still deterministic
        assert_same_lists(lists_of(nl, "radial"), [e[:5] for e in exp_r], "truncated radial")
        assert_same_lists(lists_of(nl, "angular"), [e[:2] for e in exp_a], "truncated angular")
        # grown to what was seen, the lists are complete
        cap_r, cap_a = grown_capacity(true_max[0], 5), grown_capacity(true_max[1], 2)
        assert cap_r >= true_max[0] and cap_a >= true_max[1]
        full = build(module, b, rc_r, rc_a, cap_r=cap_r, cap_a=cap_a, strategy=strategy)
        assert_same_lists(lists_of(full, "radial"), exp_r, "grown radial")


def test_buffers_are_reused(module):
    rng = np.random.default_rng(8)
    b = batch([skewed_bulk(rng, 30)], 2)
    rc_r, rc_a = pair_cutoffs(2, [[4.0] * 2] * 2, [[3.0] * 2] * 2)
    first = build(module, b, rc_r, rc_a)
    b["positions"] += 0.05 * rng.standard_normal(b["positions"].shape)
    second = build(module, b, rc_r, rc_a, out=first)
    assert second is first
    assert_same_lists(lists_of(second, "radial"), brute_force(b, rc_r, rc_a, 2)[0], "reused")
    other = build(module, b, rc_r, rc_a, cap_r=77, out=first)
    assert other is not first and other.capacity_radial == 77


def test_bad_inputs_are_refused(module):
    rng = np.random.default_rng(9)
    b = batch([skewed_bulk(rng, 5)], 1)
    rc_r, rc_a = pair_cutoffs(1, [[4.0]], [[3.0]])
    with pytest.raises(ValueError, match="positions must be a C-contiguous float64"):
        build(module, dict(b, positions=b["positions"].astype(np.float32)), rc_r, rc_a)
    with pytest.raises(ValueError, match="offsets must be"):
        build(module, dict(b, offsets=b["offsets"].astype(np.int64)), rc_r, rc_a)
    with pytest.raises(ValueError, match="T\\*T"):
        build(module, b, np.zeros(3), rc_a)
    with pytest.raises(ValueError, match="capacity_radial must be at least 1"):
        build(module, b, rc_r, rc_a, cap_r=0)
    with pytest.raises(ValueError, match="strategy"):
        build(module, b, rc_r, rc_a, strategy="verlet")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), pbc=st.tuples(st.booleans(), st.booleans(), st.booleans()),
       n_atoms=st.integers(1, 10), n_types=st.integers(1, 3))
@example(seed=288721923, pbc=(True, True, True), n_atoms=10, n_types=1)  # 465 neighbors (CI found it)
def test_random_cells_match_brute_force(module, seed, pbc, n_atoms, n_types):
    """Random skewed cells, any pbc, atoms anywhere, random typewise cutoffs."""
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(1.5, 9.0, 3)
    cell = np.diag(lengths) + np.triu(rng.uniform(-0.6, 0.6, (3, 3)), 1) * lengths[None, :]
    cell = cell[rng.permutation(3)]
    if abs(np.linalg.det(cell)) < 0.05 * np.prod(lengths):
        cell = np.diag(lengths)  # keep the periodic vectors independent
    frac = rng.uniform(-1.0, 2.0, (n_atoms, 3))
    positions = frac @ cell
    for d in range(3):
        if not pbc[d] and rng.random() < 0.5:
            cell[d] = 0.0  # a free direction's vector carries no meaning
    radial = rng.uniform(1.5, 5.5, (n_types, n_types))
    angular = radial * rng.uniform(0.4, 1.0, (n_types, n_types))
    structure = dict(positions=positions, types=rng.integers(0, n_types, n_atoms), cell=cell,
                     pbc=np.array(pbc))
    check_against_brute_force(module, [structure], n_types, radial, angular)
