"""CLI commands of the explanation stage: ``explain`` and ``ratio-maps``."""

from __future__ import annotations

import argparse
import json

from upclens.argtypes import integer as _integer
from upclens.argtypes import number as _number
from upclens.physics.commands import add_model_arguments, switches_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``explain`` and ``ratio-maps``."""
    p = sub.add_parser(
        "explain",
        description="Prediction Difference Analysis (Zintgraf et al. 2017) of a trained model on "
                    "images of an HDF5 dataset: heatmaps per task, overlays, averages, the "
                    "share of relevance in the bright-spot edge and dark-fringe regions, and "
                    "agreement with occlusion and integrated gradients.")
    p.add_argument("--model", required=True, help="run folder made by upclens train")
    p.add_argument("--data", required=True, help="HDF5 dataset (e.g. the test split)")
    p.add_argument("--out", default="explain", help="output folder (default explain/)")
    p.add_argument("--images", type=_integer, default=16,
                   help="images to explain, drawn with --seed (default 16)")
    p.add_argument("--window", type=_integer, default=6, help="window size in pixels (default 6)")
    p.add_argument("--stride", type=_integer, default=3, help="window step in pixels (default 3)")
    p.add_argument("--samples", type=_integer, default=10,
                   help="samples per window (default 10)")
    p.add_argument("--sampling", default="conditional", choices=("conditional", "marginal"),
                   help="conditional: Gaussian given the surrounding frame; marginal: windows "
                        "of random dataset images (default conditional)")
    p.add_argument("--padding", type=_integer, default=2,
                   help="frame width around a window for conditional sampling (default 2)")
    p.add_argument("--fit-images", type=_integer, default=2000,
                   help="images (at most) that fit the sampler and regions (default 2000)")
    p.add_argument("--fit-data", help="dataset those images come from, e.g. the training split "
                                      "(default: --data)")
    p.add_argument("--cross-check", type=_integer, default=4,
                   help="images also explained by occlusion and integrated gradients (default 4)")
    p.add_argument("--batch-size", type=_integer, default=256,
                   help="images per forward pass (default 256)")
    p.add_argument("--seed", type=_integer, default=0, help="random seed (default 0)")
    p.add_argument("--ratio-maps", help="ratio_maps.npz of upclens ratio-maps on the same grid: "
                                        "also correlate the heatmaps with its ratio maps")
    p.set_defaults(handler=_explain)

    r = sub.add_parser(
        "ratio-maps",
        description="Exact orientation-averaged images that differ only in the neutron skin or "
                    "only in the deformation, and their ratio maps (PNG, NPZ, JSON).")
    g = r.add_argument_group("nuclei")
    g.add_argument("--nucleus", default="Zr96", help="preset (default Zr96)")
    g.add_argument("--beta2", type=_number, default=0.06,
                   help="beta2 of the skin pair (default 0.06)")
    g.add_argument("--beta3", type=_number, default=0.20,
                   help="beta3 of the skin pair (default 0.20)")
    g.add_argument("--delta-rnp", type=_number, default=0.2,
                   help="neutron skin r_rms(n) - r_rms(p) in fm (default 0.2)")
    g.add_argument("--skin-type", default="halo", choices=("halo", "skin"),
                   help="halo: a_n = a_p + da; skin: R_n = R_p + dR (default halo)")
    g.add_argument("--deformed-beta2", type=_number, default=0.3,
                   help="beta2 of the deformed nucleus against the sphere (default 0.3)")
    g.add_argument("--deformed-beta3", type=_number, default=0.3,
                   help="beta3 of the deformed nucleus against the sphere (default 0.3)")
    add_model_arguments(r)
    i = r.add_argument_group("impact parameter and image")
    i.add_argument("--b", type=_number, default=15.0, help="|b| in fm (default 15)")
    i.add_argument("--pixels", type=_integer, default=64, help="bins per axis (default 64)")
    i.add_argument("--pmax", type=_number, default=0.2,
                   help="window half-width in GeV (default 0.2)")
    i.add_argument("--out", default="ratios", help="output folder (default ratios/)")
    r.set_defaults(handler=_ratio_maps)


def _explain(args: argparse.Namespace) -> int:
    from upclens.explain.run import explain

    summary = explain(args.model, args.data, args.out, n_images=args.images,
                      window=args.window, stride=args.stride, n_samples=args.samples,
                      sampling=args.sampling, padding=args.padding, seed=args.seed,
                      batch_size=args.batch_size, n_fit=args.fit_images,
                      cross_check=args.cross_check, ratio_npz=args.ratio_maps,
                      fit_data=args.fit_data)
    print(f"{summary['n_images']} heatmaps, {summary['timing_s']['per_heatmap']:.2f} s each")
    print(f"{'task':>10s} {'edge':>6s} {'fringe':>6s} {'other':>6s}   rank corr. with occlusion")
    for task, share in summary["region_shares"].items():
        agree = summary["agreement"].get(task, {}).get("occlusion_abs", float("nan"))
        print(f"{task:>10s} {share['edge']:6.3f} {share['fringe']:6.3f} {share['other']:6.3f}"
              f"   {agree:6.3f}")
    for task, corr in (summary["sensitivity_agreement"] or {}).items():
        print(f"{task:>10s} rank corr. with |ln ratio|: skin {corr['skin']:6.3f}, "
              f"deformation {corr['deformation']:6.3f}")
    print(f"wrote {args.out}/explain.json")
    return 0


def _ratio_maps(args: argparse.Namespace) -> int:
    from upclens.explain.ratios import ratio_maps
    from upclens.physics.settings import Collision, ImageGrid

    summary = ratio_maps(args.nucleus, args.out, beta2=args.beta2, beta3=args.beta3,
                         delta_rnp=args.delta_rnp, skin_type=args.skin_type,
                         deformed=(args.deformed_beta2, args.deformed_beta3),
                         collision=Collision(sqrt_snn=args.sqrt_snn, rapidity=args.rapidity,
                                             b=args.b),
                         switches=switches_from_args(args),
                         grid=ImageGrid(pixels=args.pixels, pmax=args.pmax))
    print(json.dumps(summary["region_stats"], indent=1))
    print(f"wrote {summary['figure']}")
    return 0
