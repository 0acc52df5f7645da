"""Training and inference speed and accuracy of one TrainSettings, as one JSON line.

    python benchmarks/bench_train.py --data train.h5 --val val.h5 --test test.h5 \
        --out runs/bench --set epochs=12 --set max_train=4000 --threads 2

Reports the wall time of training, training images per second (image passes / s), inference
images per second on the test set, and the test metrics (R^2, RMSE, 68 % coverage, accuracy).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import torch

from upclens.learn import TrainSettings, evaluate, train


def _value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True)
    p.add_argument("--val", required=True)
    p.add_argument("--test", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--set", action="append", default=[], help="setting=value (JSON value)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--progress", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    chosen = dict(item.split("=", 1) for item in args.set)
    settings = TrainSettings.from_dict({**TrainSettings().to_dict(),
                                        **{k: _value(v) for k, v in chosen.items()}})
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    t0 = time.perf_counter()
    train(args.data, args.val, out, settings=settings, progress=args.progress, threads=args.threads)
    seconds = time.perf_counter() - t0
    history = json.loads((out / "history.json").read_text())
    m = evaluate(out, args.test, out / "eval", figures=False, device="cpu")
    n_train = json.loads(json.dumps(history["history"]))
    epochs = len(n_train)
    from upclens.learn import load_model

    meta = load_model(out)[1]
    report = {
        "settings": chosen, "train_seconds": round(seconds, 1), "epochs_run": epochs,
        "best_epoch": history["best_epoch"],
        "train_images_per_second": round(meta["n_train"] * epochs / history["seconds"], 1),
        "inference_images_per_second": round(m["images_per_second"], 1),
        "n_train": meta["n_train"], "n_test": m["n"],
        **{f"r2_{k}": v["r2"] for k, v in m["targets"].items()},
        **{f"rmse_{k}": v["rmse"] for k, v in m["targets"].items()},
        **{f"cov68_{k}": v["coverage_68"] for k, v in m["targets"].items()},
        "accuracy": m["skin"]["accuracy"],
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
