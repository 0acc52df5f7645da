"""CLI commands of the learning layer: ``train``, ``evaluate`` and ``predict``.

torch is imported only when a command runs, so ``upclens --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from upclens.learn.settings import (
    AUGMENTS,
    DEVICES,
    PREPROCESS_MODES,
    SCHEDULES,
    WEIGHTINGS,
    TrainSettings,
)

_DEFAULTS = TrainSettings()


def _blocks(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of integers"
                                         ) from None


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``train``, ``evaluate`` and ``predict``."""
    d = _DEFAULTS
    t = sub.add_parser("train",
                       description="Train the multi-task ResNet (beta2, beta3, Delta r_np with "
                                   "uncertainties, skin class); run under torchrun for "
                                   "data-parallel training.")
    t.add_argument("--data", required=True, help="training dataset (.h5)")
    t.add_argument("--val", required=True, help="validation dataset (.h5)")
    t.add_argument("--out", required=True, help="run folder (model.pt, checkpoint.pt, ...)")
    t.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    t.add_argument("--epochs", type=int, help=f"epochs (default {d.epochs})")
    t.add_argument("--batch-size", type=int, help=f"global batch size (default {d.batch_size})")
    t.add_argument("--lr", type=float, help=f"peak learning rate (default {d.lr:g})")
    t.add_argument("--weight-decay", type=float, help=f"AdamW decay (default {d.weight_decay:g})")
    t.add_argument("--width", type=int, help=f"channels of the first stage (default {d.width})")
    t.add_argument("--stem", type=int, help=f"stride of the stem convolution (default {d.stem})")
    t.add_argument("--blocks", type=_blocks,
                   help="residual blocks per stage, e.g. 1,1,1 (default "
                        + ",".join(map(str, d.blocks)) + ")")
    t.add_argument("--head", type=int, help=f"units of the shared dense layer (default {d.head})")
    t.add_argument("--count-feature", action="store_const", const=True,
                   help="tell the network the image total (N J/psi of a histogram)")
    t.add_argument("--preprocess", choices=PREPROCESS_MODES,
                   help=f"input transform (default {d.preprocess})")
    t.add_argument("--eps", type=float, help=f"relative floor of the log (default {d.eps:g})")
    t.add_argument("--weighting", choices=WEIGHTINGS,
                   help=f"multi-task weighting (default {d.weighting})")
    t.add_argument("--class-weight", type=float,
                   help=f"fixed weight of the skin BCE (default {d.class_weight:g})")
    t.add_argument("--beta-nll", type=float, help=f"beta-NLL exponent (default {d.beta_nll:g})")
    t.add_argument("--schedule", choices=SCHEDULES, help=f"lr schedule (default {d.schedule})")
    t.add_argument("--augment", choices=AUGMENTS, help=f"augmentation (default {d.augment})")
    t.add_argument("--patience", type=int, help=f"early-stopping patience (default {d.patience})")
    t.add_argument("--seed", type=int, help=f"seed (default {d.seed})")
    t.add_argument("--max-train", type=int, help="use only the first N training images")
    t.add_argument("--device", choices=DEVICES, help="auto (GPU when present), cpu or cuda")
    t.add_argument("--stop-after", type=int,
                   help="leave after this many epochs of this call (continue with --resume)")
    t.add_argument("--threads", type=int, default=1,
                   help="CPU threads per process (default 1: faster on a busy machine)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar or epoch lines")
    t.set_defaults(handler=_train)

    e = sub.add_parser("evaluate",
                       description="Write metrics.json, predictions.npz and figures for a run.")
    e.add_argument("--model", required=True, help="run folder written by upclens train")
    e.add_argument("--data", required=True, help="held-out dataset (.h5)")
    e.add_argument("--out", help="output folder (default: the run folder)")
    e.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    e.add_argument("--device", choices=DEVICES, default="auto", help="inference device")
    e.set_defaults(handler=_evaluate)

    p = sub.add_parser("predict",
                       description="Predict beta2, beta3, Delta r_np (with 1-sigma errors) and "
                                   "P(skin) from an image .npz or a CSV of px,py (GeV) events.")
    p.add_argument("--model", required=True, help="run folder written by upclens train")
    p.add_argument("file", help="image .npz or event list .csv (header px,py)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=_predict)


_SETTING_FLAGS = ("epochs", "batch_size", "lr", "weight_decay", "width", "stem", "blocks",
                  "head", "count_feature", "preprocess", "eps", "weighting", "class_weight",
                  "beta_nll", "schedule", "augment", "patience", "seed", "max_train", "device")


def _train(args: argparse.Namespace) -> int:
    from upclens.learn.training import train

    chosen = {k: getattr(args, k) for k in _SETTING_FLAGS if getattr(args, k) is not None}
    settings = TrainSettings.from_dict({**_DEFAULTS.to_dict(), **chosen})
    out = train(args.data, args.val, args.out, settings=settings, resume=args.resume,
                progress=not args.no_progress, stop_after=args.stop_after, threads=args.threads)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"wrote {out / 'model.pt'}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from upclens.learn.evaluation import evaluate

    m = evaluate(args.model, args.data, args.out, figures=not args.no_figures,
                 device=args.device)
    for name, t in m["targets"].items():
        r2 = "n/a" if t["r2"] is None else f"{t['r2']:.4f}"
        print(f"{name:>10s}: R2 {r2}  RMSE {t['rmse']:.4g}  MAE {t['mae']:.4g}  "
              f"68% cover {t['coverage_68']:.3f}  95% cover {t['coverage_95']:.3f}")
    s = m["skin"]
    auc = "n/a" if s["roc_auc"] is None else f"{s['roc_auc']:.4f}"
    print(f"{'skin':>10s}: accuracy {s['accuracy']:.4f}  ROC AUC {auc}")
    print(f"wrote {m['files']['metrics']}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from upclens.learn.prediction import predict

    r = predict(args.model, args.file)
    if args.json:
        json.dump(r, sys.stdout, indent=1)
        print()
        return 0
    if r["source"] == "events":
        print(f"{r['n_events']} J/psi read, {r['n_in_window']} inside the model's window")
    print(f"beta2     = {r['beta2']:.4f} +- {r['beta2_sigma']:.4f}")
    print(f"beta3     = {r['beta3']:.4f} +- {r['beta3_sigma']:.4f}")
    print(f"delta_rnp = {r['delta_rnp']:.4f} +- {r['delta_rnp_sigma']:.4f} fm")
    print(f"P(skin)   = {r['p_skin']:.4f}")
    for note in r["warnings"]:
        print(f"note: {note}")
    return 0
