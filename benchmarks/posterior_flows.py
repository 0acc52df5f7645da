"""Each flow of a run's posterior mixture read alone against the mixture: SBC coverage of every
parameter and TARP's expected coverage at 50 / 68.27 / 95 %, in binomial sd of the sets, and
the samples' mean beta2-beta3 correlation.  Every flow is calibrated with the mixture's factor
and quantile map (``learn.posterior.calibrated``).

    python benchmarks/posterior_flows.py RUN/eventset_N10000 RUN/sets_test.h5 RUN/sets_replica.h5
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from upclens.learn.coverage import LEVELS, interval_coverage, tarp_ecp
from upclens.learn.eventset import load_set_model, load_sets
from upclens.learn.posterior import FlowEnsemble, draw_posterior, load_posterior, summaries


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("sets", nargs="+", help="event-set files neither the network nor the flows saw")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    model, meta_net = load_set_model(args.run)
    flow, meta = load_posterior(args.run)
    n = int(meta_net["n_events"])
    ctx, truth = [], []
    for path in args.sets:
        data = load_sets(path, n)
        ctx.append(summaries(model, data.feats))
        truth.append(data.targets.astype(float))
    c = torch.cat(ctx)
    t = np.concatenate(truth)
    lv = np.asarray(LEVELS)
    sd = np.sqrt(lv * (1.0 - lv) / len(t))
    print(f"{args.run}: {len(t)} sets, {args.samples} samples; z = (coverage - level) / sd")

    def report(name: str, part: FlowEnsemble) -> None:
        torch.manual_seed(args.seed)
        with torch.no_grad():  # 200 sets at a time: one flow's S x n draws at once need GBs
            s = np.concatenate([draw_posterior(part, meta, c[i:i + 200], args.samples)
                                for i in range(0, len(c), 200)])
        z_sbc = (interval_coverage(s, t) - lv) / sd
        _, ecp = tarp_ecp(s, t, np.random.default_rng(args.seed), bounds=np.asarray(meta["box"]),
                          alphas=lv)
        corr = np.mean([np.corrcoef(x[:, 0], x[:, 1])[0, 1] for x in s])
        print(f"  {name:8s} largest SBC |z| {np.abs(z_sbc).max():.1f}  TARP "
              + " / ".join(f"{v:.3f}" for v in ecp)
              + f" (z {' / '.join(f'{v:+.1f}' for v in (ecp - lv) / sd)})"
              + f"  beta2-beta3 correlation {corr:+.2f}")

    report("mixture", flow)
    for k, f in enumerate(flow.flows):
        report(f"flow {k}", FlowEnsemble([f]))


if __name__ == "__main__":
    main()
