"""CLI commands: ``observables`` (one image or a dataset), ``sensitivity`` and ``v3-study``."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from upclens.argtypes import integer as _integer
from upclens.argtypes import number as _number
from upclens.errors import ParameterError


def _window(text: str) -> tuple[float, float]:
    """'LO:HI' in GeV."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pT window LO:HI in GeV") from None


def _add_settings(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("observable definitions")
    g.add_argument("--window", type=_window, action="append", dest="windows",
                   help="pT window LO:HI (GeV) for v1..v4; repeat for several "
                        "(default 0:0.05 and 0.14:0.16)")
    g.add_argument("--low-pt-cut", type=_number, default=0.05,
                   help="upper pT edge (GeV) of the low-pT ratio (default 0.05)")
    g.add_argument("--dark-fraction", type=_number, default=0.05,
                   help="share of the darkest pixels averaged (default 0.05)")
    g.add_argument("--dark-region", type=_window, default=(0.0, 0.15),
                   help="pT annulus LO:HI (GeV) of the dark-fringe pixels (default 0:0.15)")
    g.add_argument("--subpixels", type=_integer, default=8,
                   help="sub-cells per pixel axis for window weights; 1: pixel centres "
                        "(default 8)")
    g.add_argument("--bootstrap", type=_integer, default=200,
                   help="Poisson resamplings for the errors of the area and dark fringe "
                        "(default 200)")
    g.add_argument("--seed", type=_integer, default=0, help="bootstrap seed (default 0)")


def _settings(args: argparse.Namespace) -> Any:
    from upclens.observables.measures import DEFAULT_WINDOWS, ObservableSettings

    return ObservableSettings(windows=tuple(args.windows or DEFAULT_WINDOWS),
                              low_pt_cut=args.low_pt_cut, dark_fraction=args.dark_fraction,
                              dark_region=args.dark_region, subpixels=args.subpixels,
                              n_boot=args.bootstrap, seed=args.seed)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``observables``, ``sensitivity`` and ``v3-study``."""
    p = sub.add_parser(
        "observables",
        description="Observables of an image .npz (from `upclens simulate`) or of every image "
                    "of an HDF5 dataset, with statistical errors for event-count images. "
                    "Definitions: docs/observables.md.")
    p.add_argument("file", help="image .npz or dataset .h5")
    _add_settings(p)
    p.add_argument("--b-angle", type=_number,
                   help="direction of b (rad from px); default: from the file (0 for datasets)")
    p.add_argument("--events", type=_number,
                   help="quote the expected errors of an experiment with this many J/psi in the "
                        "window (exact .npz images only)")
    p.add_argument("--json", help="write the results as JSON to this path")
    p.add_argument("--csv", help="datasets: write one row per image to this CSV path")
    p.set_defaults(handler=_observables)

    s = sub.add_parser(
        "sensitivity",
        description="Measure every image of a dataset and write correlations, slopes and partial "
                    "slopes (observables.csv, sensitivity.csv/.json/.md, sensitivity.png).")
    s.add_argument("data", help="dataset .h5")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--no-plots", action="store_true", help="skip sensitivity.png")
    _add_settings(s)
    s.set_defaults(handler=_sensitivity)

    v = sub.add_parser(
        "v3-study",
        description="Exact images obey Friedel's law (v1 = v3 = 0 without q_z); measure what the "
                    "coherence phase, N J/psi and an off-centre grid do to v3 "
                    "(v3_study.json/.md/.png).")
    v.add_argument("--out", required=True, help="output folder")
    v.add_argument("--nucleus", default="Zr96", help="preset (default Zr96)")
    v.add_argument("--beta2", type=_number, default=0.1, help="default 0.1")
    v.add_argument("--beta3", type=_number, default=0.3, help="default 0.3")
    v.add_argument("--b", type=_number, default=15.0, help="|b| in fm along px (default 15)")
    v.add_argument("--pixels", type=_integer, default=48, help="bins per axis (default 48)")
    v.add_argument("--pmax", type=_number, default=0.2, help="window half-width, GeV (0.2)")
    v.add_argument("--window", type=_window, default=(0.14, 0.16),
                   help="pT window LO:HI of v3 in GeV (default 0.14:0.16)")
    v.add_argument("--pairs", type=_integer, nargs="+", default=[1, 4, 16, 64],
                   help="orientation pairs per image (default 1 4 16 64)")
    v.add_argument("--seeds", type=_integer, default=12,
                   help="images per orientation count (default 12)")
    v.add_argument("--events", type=_integer, nargs="+",
                   default=[10**3, 10**4, 10**5, 10**6], help="J/psi per experiment")
    v.add_argument("--experiments", type=_integer, default=40,
                   help="experiments per event count (default 40)")
    v.add_argument("--shifts", type=_number, nargs="+", default=[0.0, 0.25, 0.5, 0.75],
                   help="grid offsets along px in pixels, multiples of 0.25")
    v.add_argument("--seed", type=_integer, default=0, help="random seed (default 0)")
    v.add_argument("--no-plots", action="store_true", help="skip v3_study.png")
    v.set_defaults(handler=_v3_study)


def _format(value: float, error: float | None) -> str:
    if error is None:
        return f"{value: .6g}"
    if math.isnan(error):
        return f"{value: .6g} +- ?   (too few counts in the darkest pixels for an error)"
    if error == 0:
        return f"{value: .6g} +- 0   (no spread in the resamplings: too few counts)"
    sig = f"   ({value / error:+.1f} sigma)"
    return f"{value: .6g} +- {error:.2g}{sig}"


def _observables(args: argparse.Namespace) -> int:
    from upclens.io import check_writable, write_json

    for name in ("json", "csv"):
        if getattr(args, name):
            check_writable(getattr(args, name), name)
    path = Path(args.file)
    if not path.is_file():
        raise ParameterError("file", args.file, "must be an existing .npz image or .h5 dataset")
    settings = _settings(args)
    if path.suffix == ".npz":
        return _observables_npz(args, settings)
    if path.suffix not in (".h5", ".hdf5"):
        raise ParameterError("file", args.file, "must end in .npz (image) or .h5 (dataset)")
    if args.events is not None:
        raise ParameterError("events", args.events, "applies to exact .npz images only")
    import numpy as np

    from upclens.observables.table import measure_dataset, write_table_csv

    table = measure_dataset(path, settings)
    if args.csv:
        write_table_csv(table, args.csv)
    summary = {}
    sys.stdout.write(f"{table.values.shape[0]} images of {path} "
                     f"({'event counts' if table.meta['counts'] else 'exact images'})\n")
    if table.meta["config"].get("physics", {}).get("b_direction") == "random":
        sys.stdout.write("note: the direction of b is random in this dataset; phi is measured "
                         "from px and the v_n average out\n")
    sys.stdout.write(f"{'observable':<18} {'mean':>12} {'sd':>11} {'median error':>13}\n")
    for j, name in enumerate(table.names):
        col, err = table.values[:, j], table.errors[:, j]
        med = float(np.median(err)) if np.all(np.isfinite(err)) else None
        summary[name] = {"mean": float(col.mean()), "sd": float(col.std()), "median_error": med}
        med_s = "-" if med is None else f"{med:.3g}"
        sys.stdout.write(f"{name:<18} {col.mean():>12.5g} {col.std():>11.3g} {med_s:>13}\n")
    if args.json:
        write_json({"source": str(path), "n": int(table.values.shape[0]),
                    "counts": table.meta["counts"], "settings": _settings_dict(settings),
                    "summary": summary, "labels": table.labels,
                    "values": {k: table.values[:, j] for j, k in enumerate(table.names)},
                    "errors": {k: table.errors[:, j] for j, k in enumerate(table.names)}},
                   args.json)
    for name in ("csv", "json"):
        if getattr(args, name):
            sys.stdout.write(f"wrote {getattr(args, name)}\n")
    return 0


def _settings_dict(settings: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(settings)


def _observables_npz(args: argparse.Namespace, settings: Any) -> int:
    from upclens.io import write_json
    from upclens.observables.measures import ImageMeasurer
    from upclens.observables.table import measure_npz
    from upclens.physics.image import Image

    if args.csv:
        raise ParameterError("csv", args.csv, "applies to datasets (.h5) only; use --json")
    if args.b_angle is None and args.events is None:
        obs, info = measure_npz(args.file, settings)
    else:
        image = Image.load_npz(args.file)
        counts = "events" in image.config
        if counts and args.events is not None:
            raise ParameterError("events", args.events,
                                 "must not be given for an image of event counts")
        b_angle = (args.b_angle if args.b_angle is not None
                   else float(image.config.get("collision", {}).get("b_angle", 0.0)))
        obs = ImageMeasurer(image.px, image.py, b_angle, settings)(
            image.intensity, n_events=args.events, counts=counts)
        info = {"source": args.file, "b_angle": b_angle, "counts": counts}
    kind = ("event counts" if info["counts"] else
            f"exact, errors for {args.events:g} events" if args.events else "exact image")
    sys.stdout.write(f"{args.file} ({kind}; phi from b at {info['b_angle']:g} rad)\n")
    for name, m in obs.items():
        sys.stdout.write(f"{name:<18} {_format(m.value, m.error)}\n")
    if args.json:
        write_json(info | {"settings": _settings_dict(settings), "observables": obs.as_dict(),
                           "n_window": obs.n_window}, args.json)
        sys.stdout.write(f"wrote {args.json}\n")
    return 0


def _sensitivity(args: argparse.Namespace) -> int:
    from upclens.observables.sensitivity import markdown, sensitivity

    if not Path(args.data).is_file():
        raise ParameterError("data", args.data, "must be an existing dataset .h5")
    result = sensitivity(args.data, args.out, settings=_settings(args), plots=not args.no_plots)
    sys.stdout.write(markdown(result))
    sys.stdout.write(f"wrote {', '.join(result['files'])} in {args.out}\n")
    return 0


def _v3_study(args: argparse.Namespace) -> int:
    from upclens.observables.v3study import markdown, v3_study, write_v3_study

    result = v3_study(beta2=args.beta2, beta3=args.beta3, b=args.b, pixels=args.pixels,
                      pmax=args.pmax, window=args.window, pairs=tuple(args.pairs),
                      seeds=args.seeds, events=tuple(args.events),
                      experiments=args.experiments, shifts=tuple(args.shifts), seed=args.seed,
                      nucleus=args.nucleus)
    files = write_v3_study(result, args.out, plots=not args.no_plots)
    sys.stdout.write(markdown(result))
    sys.stdout.write(f"wrote {', '.join(files)} in {args.out}\n")
    return 0
