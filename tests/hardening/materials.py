"""Files a careless or adversarial user may hand to upclens: tiny valid ones (a dataset, a model,
an image) and damaged or foreign ones derived from them.  Built once into a folder; every bad
input case refers to them by name."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

TINY_TRAIN = {"width": 4, "blocks": (1,), "head": 8, "epochs": 1, "batch_size": 8}


def _npz(path: Path, **arrays: object) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _h5_variant(src: Path, dst: Path, change) -> None:
    """Copy of dataset ``src`` with ``change(h5py.File)`` applied."""
    import h5py

    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        change(f)


def _set_attr(where: str, key: str, value: object):
    def change(f) -> None:
        f[where].attrs[key] = value
    return change


def build(root: Path) -> Path:
    """Make every material under ``root`` (about ten seconds on one core); returns ``root``."""
    import torch

    from upclens.data import generate_dataset, load_config, read_dataset
    from upclens.learn import TrainSettings, train

    root.mkdir(parents=True, exist_ok=True)
    cfg = load_config(overrides={"image.pixels": 16, "image.orientations": 2,
                                 "run.chunk_size": 4})
    data = generate_dataset(cfg, 16, 1, root / "data.h5", workers=1, progress=False)
    val = generate_dataset(cfg, 8, 2, root / "val.h5", workers=1, progress=False)
    cfg32 = load_config(overrides={"image.pixels": 32, "image.orientations": 2,
                                   "run.chunk_size": 4})
    generate_dataset(cfg32, 8, 3, root / "data32.h5", workers=1, progress=False)
    torch.set_num_threads(1)
    train(data, val, root / "model", settings=TrainSettings(**TINY_TRAIN), progress=False)

    # -- foreign and damaged plain files
    (root / "text.txt").write_text("hello, this is not a data file\n")
    (root / "binary.bin").write_bytes(bytes(range(256)) * 8)
    (root / "empty.txt").write_bytes(b"")
    (root / "binary.csv").write_bytes(bytes(range(256)) * 8)
    (root / "config.toml").write_text('[image]\npixels = 16\norientations = 2\n'
                                      '[run]\nchunk_size = 4\n')
    (root / "binary.toml").write_bytes(b"\x00\xff\xfe" * 100)
    (root / "unknown.toml").write_text("[image]\ncolour = 3\n")
    (root / "negative_bound.json").write_text('{"200": {"d_rnp": -0.1}}')
    (root / "isobar_bound.json").write_text(json.dumps({"n_values": [200.0], "columns": [
        {"name": "0nXn: pT", "sigma": {"d_beta2sq": [0.4], "d_beta3sq": [0.3],
                                       "d_rnp": [0.4]}}]}))

    # -- images (.npz) as `simulate` writes them, and broken ones
    images, _, meta = read_dataset(data, indices=[0])
    px, py, inten = meta["px"], meta["py"], images[0].astype(float)
    config = json.dumps({"nucleus": {"beta2": 0.1}, "orientations": 2, "b_angle": 0.0})
    _npz(root / "image.npz", px=px, py=py, intensity=inten, config=config)
    _npz(root / "no_py.npz", px=px, intensity=inten, config=config)
    _npz(root / "no_intensity.npz", px=px, py=py, config=config)
    _npz(root / "short_px.npz", px=px[:-3], py=py, intensity=inten, config=config)
    _npz(root / "no_keys.npz")
    _npz(root / "no_config.npz", px=px, py=py, intensity=inten)
    _npz(root / "bad_config.npz", px=px, py=py, intensity=inten, config="{not json")
    _npz(root / "nan_image.npz", px=px, py=py, intensity=np.full_like(inten, np.nan),
         config=config)
    _npz(root / "negative.npz", px=px, py=py, intensity=-inten, config=config)
    _npz(root / "image3d.npz", px=px, py=py, intensity=inten[None], config=config)
    np.save(root / "image.npy", inten)
    _npz(root / "ratio16.npz", x=np.zeros(16))
    (root / "truncated.npz").write_bytes((root / "image.npz").read_bytes()[:200])
    with open(root / "pickle.npz", "wb") as fh:
        np.savez(fh, intensity=np.array([{"a": 1}], dtype=object))

    # -- event lists (.csv)
    (root / "events.csv").write_text("px,py\n0.01,0.02\n-0.03,0.01\n0.0,0.0\n")
    (root / "outside.csv").write_text("px,py\n1.5,1.5\n-2.0,0.9\n")
    (root / "no_header.csv").write_text("0.01,0.02\n")
    (root / "words.csv").write_text("px,py\na,b\n")
    (root / "nan.csv").write_text("px,py\nnan,0.01\n")

    # -- models: no meta, wrong weights, other settings, not a model
    model = root / "model" / "model.pt"
    for name, change in (
            ("model_no_meta", lambda o: o.pop("meta")),
            ("model_no_weights", lambda o: o.pop("state_dict")),
            ("model_bad_shape", lambda o: o["state_dict"].__setitem__(
                next(iter(o["state_dict"])), torch.zeros(3, 3))),
            ("model_bad_settings", lambda o: o["meta"].__setitem__("settings", {"width": -4})),
            ("model_bad_axes", lambda o: o["meta"].__setitem__("px", [0.0])),
            ("model_meta_list", lambda o: o.__setitem__("meta", [1, 2]))):
        folder = root / name
        folder.mkdir()
        copy = torch.load(model, weights_only=True)
        change(copy)
        torch.save(copy, folder / "model.pt")
    (root / "model_text").mkdir()
    (root / "model_text" / "model.pt").write_text("not a model")
    (root / "model_empty").mkdir()

    # -- datasets with damaged metadata
    variants = {
        "bad_config_attr": _set_attr("/", "config", "{not json"),
        "bad_columns": _set_attr("labels", "columns", "[oops"),
        "zero_chunk_size": _set_attr("/", "chunk_size", 0),
        "swapped_columns": _set_attr("labels", "columns",
                                     json.dumps(["beta3", "beta2", "delta_rnp", "skin"])),
        "bad_stats": lambda f: f["stats/label_std"].__setitem__(slice(None), 0.0),
        "doubled_px": lambda f: f["px"].__setitem__(slice(None), 2 * f["px"][()]),
        "bad_sha": lambda f: (f.__delitem__("chunk_sha256"),
                              f.create_dataset("chunk_sha256", data=np.zeros(4))),
    }
    for name, change in variants.items():
        _h5_variant(data, root / f"{name}.h5", change)
    (root / "truncated.h5").write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    os.symlink(root / "text.txt", root / "link.txt")

    # -- a model trained (so its metadata says) with b's direction random: predict reads
    # event lists for it
    copy = torch.load(model, weights_only=True)
    dataset_config = json.loads(copy["meta"]["dataset_config"])
    dataset_config["physics"]["b_direction"] = "random"
    copy["meta"]["dataset_config"] = json.dumps(dataset_config)
    (root / "model_random_b").mkdir()
    torch.save(copy, root / "model_random_b" / "model.pt")
    _event_materials(root)
    return root


SET_EVENTS = 32
"""Events per set of the tiny event-set model (an infer list holds this many)."""


def _event_materials(root: Path) -> None:
    """A tiny event-set model with its posterior (one epoch each: its numbers mean nothing,
    only what it accepts matters), event lists of its configuration and damaged ones."""
    import math
    import shutil
    import sys

    import torch

    sys.path.insert(0, str(Path(__file__).parents[1] / "learn"))
    from eventset_twin import synthetic_sets

    from upclens.data.eventfiles import write_parquet
    from upclens.data.eventgen import EventConfig, event_table, manifest
    from upclens.data.eventsets import CLASS_CODES, EventSetConfig, _sampler, class_codes
    from upclens.learn.eventset import SetSettings, train_sets
    from upclens.learn.posterior import FlowSettings, fit_posterior

    n = SET_EVENTS
    train = synthetic_sets(root / "sets_train.h5", 32, n, 11)
    val = synthetic_sets(root / "sets_val.h5", 32, n, 12)
    run = train_sets(train, val, root / "set_model", n,
                     SetSettings(width=8, head=8, epochs=1, batch_size=16))
    fit_posterior(run, val, FlowSettings(epochs=1, hidden=8, transforms=1))
    (root / "set_model_no_posterior").mkdir()  # the network alone, its flow never fitted
    shutil.copy(run / "model.pt", root / "set_model_no_posterior" / "model.pt")
    shutil.copytree(run, root / "set_model_au")  # the same model, trained (it says) on Au197
    obj = torch.load(run / "model.pt", weights_only=True)
    dataset_config = json.loads(obj["meta"]["dataset_config"])
    dataset_config["events"]["nucleus"] = "Au197"
    obj["meta"]["dataset_config"] = json.dumps(dataset_config)
    torch.save(obj, root / "set_model_au" / "model.pt")

    cfg = EventSetConfig(n_events=n)
    rng = np.random.default_rng(3)
    ev = EventConfig(nucleus="Zr96", y_min=-1.0, y_max=1.0, formats=("parquet",))
    table = event_table(ev, _sampler(cfg, {"beta2": 0.1, "beta3": 0.1, "delta_rnp": 0.15}
                                     ).sample(n, rng), 0, rng, rng)
    codes = class_codes(np.asarray(table["truth_b_fm"]), cfg, rng)
    table["neutron_class"] = np.array([CLASS_CODES[c] for c in codes], dtype=object)
    cols = [f"d{k}_{c}" for k in (1, 2) for c in ("e", "px", "py", "pz")]

    def rows(t: dict) -> list[str]:
        return [",".join([*cols, "neutron_class"])] + [
            ",".join([*(repr(float(t[c][i])) for c in cols), str(t["neutron_class"][i])])
            for i in range(len(t[cols[0]]))]

    def write(name: str, lines: list[str]) -> None:
        (root / name).write_text("\n".join(lines) + "\n")

    good = rows(table)
    write("list.csv", good)
    write("list_no_pz.csv", [",".join(r.split(",")[:3] + r.split(",")[4:]) for r in good])
    write("list_nan.csv", [*good[:5], "nan," + good[5].split(",", 1)[1], *good[6:]])
    write("list_words.csv", [*good[:5], "abc," + good[5].split(",", 1)[1], *good[6:]])
    write("list_ragged.csv", [*good[:5], good[5] + ",1", *good[6:]])
    write("list_empty.csv", good[:1])
    write("list_few.csv", good[: n // 2])
    write("list_many.csv", good + good[1:])
    write("list_no_class.csv", [good[0]] + [r.rsplit(",", 1)[0] + ",any" for r in good[1:]])
    far = dict(table)  # boosted along z by 1.5 units of rapidity
    for e, pz in (("d1_e", "d1_pz"), ("d2_e", "d2_pz")):
        far[e] = table[e] * math.cosh(1.5) + table[pz] * math.sinh(1.5)
        far[pz] = table[pz] * math.cosh(1.5) + table[e] * math.sinh(1.5)
    write("list_far.csv", rows(far))
    wide = dict(table)
    wide["d1_px"] = table["d1_px"] + 0.5
    write("list_wide.csv", rows(wide))
    (root / "list_zero.csv").write_bytes(b"")
    zr = EventConfig(nucleus="Zr96", y_min=-1.0, y_max=1.0)
    write_parquet(root / "list.parquet", manifest(zr, n, 0), [table])
    write_parquet(root / "list_au.parquet",
                  manifest(EventConfig(nucleus="Au197", y_min=-1.0, y_max=1.0), n, 0), [table])
    (root / "list.txt").write_text("\n".join(good) + "\n")
    for name in ("text.parquet", "text.hepmc3", "text.root"):
        (root / name).write_text("hello, this is not an event list\n")
    (root / "binary.parquet").write_bytes(bytes(range(256)) * 8)
