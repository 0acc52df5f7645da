"""Cramer-Rao bounds of the realism ladder and their cost, plus the planning comparison.

Test point: Zr96, beta2 = 0.1, beta3 = 0.2, Delta r_np = 0.1 fm (halo type), 200 GeV,
b = 15 fm, 64x64 pixels over |px|, |py| < 0.2 GeV, multinomial likelihood.

    python benchmarks/bench_fisher.py            # ~1 minute on 2 cores
    python benchmarks/bench_fisher.py --quick    # planning comparison only, ~30 s
    python benchmarks/bench_fisher.py --b-mixture  # also the |b|-mixture convexity check
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from upclens.information import crb_versus_n, fisher_matrix, realism_ladder
from upclens.information.crb import shared_model
from upclens.information.fisher import crb_sigma
from upclens.physics.image import DoubleSlit
from upclens.physics.nucleus import Nucleus

POINT = {"beta2": 0.1, "beta3": 0.2, "delta_rnp": 0.1}
PLANNING = {("none", 1e4): 0.044, ("R,a", 1e4): 0.058, ("R,a", 1e6): 0.027}


def planning_table() -> None:
    """sigma(Delta r_np) with the protons known and with the R, a priors, versus N."""
    n_values = (1e3, 1e4, 1e5, 1e6, 1e7, 1e8)
    print("| nuisances | " + " | ".join(f"N = {n:.0e}" for n in n_values) + " |")
    print("|---|" + "---|" * len(n_values))
    for nuis in ("none", "R,a", "R,a,sigma"):
        t0 = time.perf_counter()
        res = crb_versus_n(POINT, None, n_values, nuisances=None if nuis == "none" else nuis)
        cells = []
        for n, s in zip(n_values, res["sigma_crb"]["delta_rnp"], strict=True):
            plan = PLANNING.get((nuis, n))
            cells.append(f"{s:.4f}" + (f" (plan {plan})" if plan else ""))
        print(f"| {nuis} | " + " | ".join(cells) + f" |  <!-- {time.perf_counter() - t0:.1f} s -->")


def ladder_table(n_events: float = 1e4) -> None:
    """sigma_CRB of every rung of the realism ladder at ``n_events`` and its cost."""
    print(f"\n| rung (N = {n_events:.0e}) | beta2 | beta3 | Delta r_np (fm) | images | s |")
    print("|---|---|---|---|---|---|")
    for name, (settings, nuis) in realism_ladder().items():
        t0 = time.perf_counter()
        res = fisher_matrix(POINT, settings, n_events, nuisances=nuis)
        dt = time.perf_counter() - t0
        s = res.sigma_crb
        n_img = 1 + 4 * len(res.names)
        print(f"| {name} | {s['beta2']:.4f} | {s['beta3']:.4f} | {s['delta_rnp']:.4f} | "
              f"{n_img} | {dt:.1f} |")


def b_mixture_check(n_events: float = 1e4) -> None:
    """Random-direction images at the |b| quadrature nodes: compare the UPC-|b| bound with
    the bound of the yield-weighted average of the per-|b| Fisher matrices (an upper limit on
    the information of the mixture when its weights do not depend on the parameters)."""
    upc = realism_ladder()["upc_b"][0]
    sim = DoubleSlit(Nucleus.from_preset("Zr96", **POINT), upc.collision, upc.switches,
                     upc.grid, upc.numerics)
    b, w = sim._b_nodes()
    yields = []
    mats = []
    for bi in b:
        s_b = replace(upc, collision=replace(upc.collision, b_magnitude="fixed", b=float(bi)))
        res = fisher_matrix({**POINT, "b": float(bi)}, s_b, n_events, check_step=False)
        mats.append(res.matrix)
        yields.append(shared_model(s_b).coherent({**POINT, "b": float(bi)})[1])
    pi = w * np.asarray(yields)
    pi = pi / pi.sum()
    avg = np.tensordot(pi, np.asarray(mats), axes=1)
    mix = fisher_matrix(POINT, upc, n_events, check_step=False)
    print("\n|b| mixture (random direction), sigma_CRB: beta2, beta3, Delta r_np")
    print("  UPC |b| image:             ", np.round([mix.sigma_crb[n] for n in mix.names], 4))
    print("  weighted mean of I(|b|):   ", np.round(crb_sigma(avg), 4))
    print("  per-node sigma(Delta r_np):", np.round([crb_sigma(m)[2] for m in mats], 4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="planning comparison only")
    parser.add_argument("--b-mixture", action="store_true", help="also the |b| mixture check")
    args = parser.parse_args()
    planning_table()
    if not args.quick:
        ladder_table()
    if args.b_mixture:
        b_mixture_check()


if __name__ == "__main__":
    main()
