"""The learner on pairs of event lists: Ru+Ru and Zr+Zr J/psi lists as STAR records them, read
together for the joint posterior of the differences (beta2^2, beta3^2, Delta r_np of 96Ru minus
those of 96Zr), nuisances marginalised, and its calibration on test pairs never trained on.

Per species: labelled event sets (``upclens.data.eventsets``; J/psi -> e+e- at 200 GeV, STAR's
acceptance and resolution, accepted events only, one neutron class, the species' own priors:
beta2, |beta3| uniform in [0, 0.3], Delta r_np uniform in [0, 0.3] fm, nuisances R, a,
sigma_J/psi-N), an event-set network at each N trained on the training sets, its flow fitted on
the validation sets, both checked alone (SBC / TARP) on the species' test sets.  The pair: test
set k of Ru with test set k of Zr (independent labels, seeds differ per species and split);
samples of the differences are differences of independent samples of the two posteriors
(``upclens.learn.pairs``).  Scored per difference: RMSE of the posterior mean, mean posterior
sd, the prior's sd, SBC coverage and TARP at 50 / 68 / 95 % (and the same for the samples
shrunk by 3 about their mean, which must fail), RMSE / sigma_bound with a bound file.
Resumable: finished set files, networks and flows are reused.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_choice

PAIR_SIZES = ("tiny", "default")
SPECIES = (("Ru", "Ru96"), ("Zr", "Zr96"))
SPLITS = ("train", "val", "test")
OVERCONFIDENT_SHRINK = 3.0
N_SAMPLES = 1000
FILES = ("isobar_learn.json", "isobar_learn.md", "isobar_learn_coverage.png")
FLOW_SUPPORT = "logit"
"""The species' flows live on the logit of the prior box, as when docs/isobar.md's numbers
were measured (the probit and the mixture of flows the event ladder uses are not measured on
the isobar pairs)."""


@dataclass(frozen=True)
class PairSize:
    """n_max: accepted events per stored set; counts: the N per species read; n_train, n_val,
    n_test: sets per species (n_test = test pairs); y_range: J/psi rapidity window;
    neutron_class: the selection; set_width, set_epochs: event-set network; flow_epochs."""

    name: str
    n_max: int
    counts: tuple[int, ...]
    n_train: int
    n_val: int
    n_test: int
    y_range: tuple[float, float]
    neutron_class: str
    set_width: int
    set_epochs: int
    flow_epochs: int


SIZES = {
    "tiny": PairSize("tiny", 60, (20, 60), 8, 12, 10, (0.0, 0.0), "0nXn", 16, 3, 20),
    # 1.2 CPU s per set at N_max = 2000, |y| < 1, STAR, 0nXn (sampler set-up at 5 rapidity
    # nodes dominates): 2 x 500 sets ~ 20 CPU min (docs/benchmarks.md).
    "default": PairSize("default", 2000, (200, 2000), 200, 200, 100, (-1.0, 1.0), "0nXn", 32,
                        30, 200),
}


def pair_size(name: str, counts: tuple[int, ...] | None = None) -> PairSize:
    """The size ``name``, with ``counts`` (each in [1, n_max]) instead of its own when given."""
    check_choice("size", name, PAIR_SIZES)
    sz = SIZES[name]
    if counts is not None:
        if not counts:
            raise ParameterError("counts", "()", "must name at least one event count")
        bad = [c for c in counts if not 1 <= c <= sz.n_max]
        if bad:
            raise ParameterError("counts", bad[0], f"must be in [1, {sz.n_max}] for size {name}")
        sz = replace(sz, counts=tuple(sorted(set(counts))))
    return sz


DEFAULT_PAIR_BOUND_COLUMN = "0nXn: pT + daughter angle"
"""The column of the isobar bound file (``sensitivity.json``) that matches the pair sets: 0nXn,
|y| < 1, STAR acceptance, pair pT and the daughter angle."""


def read_pair_bound(path: str | Path | None, column: str = DEFAULT_PAIR_BOUND_COLUMN
                    ) -> dict[int, dict[str, float]]:
    """{N: {difference: sigma}} (None: no bound) from the bound file of ``upclens isobar-fisher``
    (``sensitivity.json``: the ``column``'s sigma with the nuisance priors, at its N values) or
    a plain JSON {N: {"d_beta2sq": s, ...}}; every sigma must be finite and positive."""
    from upclens.ladder.events import read_bound
    from upclens.learn.pairs import DIFFERENCES

    if path is not None and _is_bound_table(path):
        from upclens.information.isobar_fisher import read_difference_bound

        try:
            table = read_difference_bound(path, column)
        except ParameterError:
            raise
        except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise ParameterError("bound", str(path), f"must be a bound file of upclens "
                                 f"isobar-fisher ({type(exc).__name__})") from None
        bounds = {round(n): row for n, row in table.items()}
    else:
        bounds = read_bound(path, names=DIFFERENCES)
    for n, row in bounds.items():
        for name, s in row.items():
            if not (math.isfinite(s) and s > 0):
                raise ParameterError("bound", str(path), f"has sigma {s} for {name} at N = {n}: "
                                     "must be finite and > 0")
    return bounds


def _is_bound_table(path: str | Path) -> bool:
    """Whether ``path`` holds a JSON object with 'columns' and 'n_values' (a bound table)."""
    try:
        raw = json.loads(Path(path).read_text("utf-8"))
    except (OSError, ValueError, TypeError):
        return False  # read_bound names the problem
    return isinstance(raw, dict) and "columns" in raw and "n_values" in raw


def split_seed(seed: int, species: int, split: int) -> int:
    """Base seed of the sets of species index ``species`` (Ru 0, Zr 1) and split index
    ``split`` (train 0, val 1, test 2): distinct for every pair, so the labels of the two
    species' sets are independent."""
    return seed * 100 + 10 * species + split


def pair_config(size: PairSize, nucleus: str) -> Any:
    """EventSetConfig of one species: J/psi -> e+e-, STAR acceptance and resolution, accepted
    events only, the size's class and rapidity window, the species' nuisance priors."""
    from upclens.data.eventgen import EventConfig
    from upclens.data.eventsets import EventSetConfig, default_priors

    ev = EventConfig(nucleus=nucleus, y_min=size.y_range[0], y_max=size.y_range[1],
                     neutron_class=size.neutron_class, detector="star", accepted_only=True,
                     formats=("parquet",))
    return EventSetConfig(events=ev, priors=default_priors(nucleus), n_events=size.n_max,
                          chunk_size=4)


def _species_run(folder: Path, files: dict[str, Path], n: int, size: PairSize, seed: int
                 ) -> tuple[Path, dict[str, Any], float]:
    """Train (or reuse) one species' network and flow at N; its own SBC / TARP on its test
    sets.  Returns the run folder, the coverage dict and the training seconds (network and
    flow, as stored in their files when they were trained, so a reused run reports its cost)."""
    from upclens.learn.eventset import SetSettings, load_set_model, train_sets
    from upclens.learn.posterior import (
        POSTERIOR_FILE,
        FlowSettings,
        check_posterior,
        fit_posterior,
        load_posterior,
        validation_halves,
    )

    net, _ = validation_halves(size.n_val)
    if not (folder / "model.pt").is_file():
        train_sets(files["train"], files["val"], folder, n,
                   SetSettings(width=size.set_width, epochs=size.set_epochs, seed=seed),
                   val_sets=net)
    if not (folder / POSTERIOR_FILE).is_file():
        fit_posterior(folder, files["val"], FlowSettings(epochs=size.flow_epochs, seed=seed,
                                                         support=FLOW_SUPPORT))
    seconds = (float(load_set_model(folder)[1]["train_seconds"])
               + float(load_posterior(folder)[1]["seconds"]))
    cov = check_posterior(folder, files["test"], n_samples=500, seed=seed)
    return folder, cov, seconds


def score_pairs(runs: dict[str, Path], data: dict[str, Any], seed: int,
                n_samples: int = N_SAMPLES) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Posterior of the differences on index-paired test sets of Ru and Zr (``data``: a
    ``SetData`` per species, at the runs' N): the scores, the samples (n_pairs, S, 3) and the
    truths (n_pairs, 3)."""
    from upclens.learn.coverage import tarp_ecp
    from upclens.learn.pairs import (
        DIFFERENCES,
        difference_box,
        differences,
        pair_coverage,
        pair_samples,
        prior_difference_mean,
        prior_difference_sd,
        shrink,
        summarise_pairs,
    )
    from upclens.learn.posterior import prior_box

    ru, zr = data["Ru"], data["Zr"]
    m = min(len(ru), len(zr))
    truth = differences(ru.targets[:m], zr.targets[:m])
    samples = pair_samples(runs["Ru"], runs["Zr"], ru.feats[:m], zr.feats[:m], n_samples, seed)
    box_ru, box_zr = prior_box(ru.config), prior_box(zr.config)
    bounds = difference_box(box_ru, box_zr)
    prior_sd = prior_difference_sd(box_ru, box_zr)
    prior_mean = prior_difference_mean(box_ru, box_zr)
    per = summarise_pairs(samples, truth)
    for k, name in enumerate(DIFFERENCES):
        per[name]["prior_sd"] = float(prior_sd[k])
        # the RMSE of always answering the prior mean, on these test pairs
        per[name]["rmse_prior_mean"] = float(np.sqrt(np.mean((truth[:, k] - prior_mean[k]) ** 2)))
    learner = pair_coverage(samples, truth, bounds, seed)
    over = pair_coverage(shrink(samples, OVERCONFIDENT_SHRINK), truth, bounds, seed)
    alphas, ecp = tarp_ecp(samples, truth, np.random.default_rng(seed), bounds=bounds)
    _, ecp_over = tarp_ecp(shrink(samples, OVERCONFIDENT_SHRINK), truth,
                           np.random.default_rng(seed), bounds=bounds)
    scores = {"n_pairs": m, "differences": per, "coverage": learner,
              "overconfident": {"shrink": OVERCONFIDENT_SHRINK, **over},
              "tarp_curve": {"alpha": alphas.tolist(), "ecp": ecp.tolist(),
                             "ecp_overconfident": ecp_over.tolist()}}
    return scores, samples, truth


def write_pair_posteriors(path: Path, samples: np.ndarray, truth: np.ndarray) -> Path:
    """The test pairs' posteriors as an .npz (atomic): samples (n_pairs, S, 3) float32, their
    means, the central 68.27 % intervals lo68, hi68 (n_pairs, 3), the truths and the names."""
    from upclens.io import atomic_path
    from upclens.learn.pairs import DIFFERENCES

    lo, hi = np.quantile(samples, [0.158655, 0.841345], axis=1)
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, samples=samples.astype(np.float32), mean=samples.mean(axis=1), lo68=lo,
                 hi68=hi, truth=truth, names=np.array(DIFFERENCES))
    return path


def run_isobar_learn(out: str | Path, size: str = "tiny", seed: int = 1,
                     bound: str | Path | None = None,
                     bound_column: str = DEFAULT_PAIR_BOUND_COLUMN, workers: int = 1,
                     counts: tuple[int, ...] | None = None, progress: bool = False
                     ) -> dict[str, Any]:
    """Generate (or reuse) both species' event sets, train each species' network and flow at
    every N, score the test pairs; write ``isobar_learn.json``, ``isobar_learn.md``,
    ``isobar_learn_coverage.png``, ``corner_N{N}.png`` (the difference posterior of test pair
    0) and ``pairs_N{N}.npz`` (every test pair's samples, means and 68 % intervals) into
    ``out``.  Returns the summary dict."""
    from upclens.data.eventsets import generate_event_sets
    from upclens.data.generate import check_run
    from upclens.io import atomic_path, check_folder
    from upclens.learn.eventset import SetData, load_sets
    from upclens.learn.pairs import DIFFERENCES, summarise_differences
    from upclens.learn.posterior import corner_plot

    sz = pair_size(size, counts)
    bounds = read_pair_bound(bound, bound_column)
    check_run(sz.n_train, seed, workers, "processes")  # refused before the folder is made
    folder = check_folder(out)
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, dict[str, Path]] = {}
    gen_cpu: dict[str, float] = {}
    for i, (sp, nucleus) in enumerate(SPECIES):
        cfg = pair_config(sz, nucleus)
        files[sp] = {}
        t0 = _cpu()
        for k, (split, n_sets) in enumerate(zip(SPLITS, (sz.n_train, sz.n_val, sz.n_test),
                                                strict=True)):
            files[sp][split] = folder / f"sets_{sp}_{split}.h5"
            generate_event_sets(cfg, n_sets, split_seed(seed, i, k), files[sp][split],
                                workers=workers, progress=progress)
        gen_cpu[sp] = _cpu() - t0
    t0 = _cpu()
    shared = shared_nuisance_sets(sz, seed, files, folder / "sets_Zr_test_shared_sigma_vn.npz")
    gen_cpu["Zr_shared_sigma_vn"] = _cpu() - t0
    entries = []
    for n in sz.counts:
        runs, species = {}, {}
        for sp, _ in SPECIES:
            run, cov, secs = _species_run(folder / f"{sp}_N{n}", files[sp], n, sz, seed)
            runs[sp] = run
            species[sp] = {"coverage_passed": cov["passed"], "tarp_ecp": cov["tarp_ecp"],
                           "interval_coverage": cov["interval_coverage"], "train_seconds": secs}
        test = {sp: load_sets(files[sp]["test"], n) for sp in runs}
        scores, samples, truth = score_pairs(runs, test, seed)
        shared_data = {"Ru": test["Ru"], "Zr": SetData(
            np.ascontiguousarray(shared[0][:, :n]), shared[1], np.zeros(len(shared[1])), {},
            test["Zr"].config)}
        shared_scores, _, _ = score_pairs(runs, shared_data, seed)
        scores["shared_sigma_vn"] = {k: shared_scores[k] for k in ("n_pairs", "differences",
                                                                     "coverage")}
        for name in DIFFERENCES:
            s = bounds.get(n, {}).get(name)
            d = scores["differences"][name]
            d["sigma_bound"] = s
            d["ratio_bound"] = None if s is None else d["rmse"] / s
        corner, npz = f"corner_N{n}.png", f"pairs_N{n}.npz"
        corner_plot(samples[0], folder / corner, truth=truth[0], names=DIFFERENCES)
        write_pair_posteriors(folder / npz, samples, truth)
        entries.append({"n_events": n, "species": species, **scores, "corner": corner,
                        "pairs_file": npz, "pair0": {
                            "truth": dict(zip(DIFFERENCES, truth[0].tolist(), strict=True)),
                            "posterior": summarise_differences(samples[0])}})
    # generation_cpu_s: CPU seconds this call spent making set files (0 for reused files)
    summary = {"size": asdict(sz), "seed": seed, "entries": entries,
               "generation_cpu_s": gen_cpu, "bound": None if bound is None else str(bound),
               "bound_column": bound_column,
               "files": [*FILES, *(f for e in entries for f in (e["corner"], e["pairs_file"]))]}
    with atomic_path(folder / FILES[0], suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(summary, indent=1))
    with atomic_path(folder / FILES[1], suffix=".md") as tmp:
        Path(tmp).write_text(pair_table(entries))
    coverage_figure(entries, folder / FILES[2])
    return summary


def shared_nuisance_sets(size: PairSize, seed: int, files: dict[str, dict[str, Path]],
                         path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The Zr test sets again with sigma_J/psi-N set to that of the Ru test set they are paired
    with (one nuisance shared by the pair, as in nature): the same seed and index, so every
    other label and the random streams are those of the Zr test set (the nuisance is drawn
    last).  Returns features (n_test, N_max, 5) and targets (n_test, 3); kept in ``path``."""
    import dataclasses

    from upclens.data.config import Prior
    from upclens.data.eventsets import read_event_sets, simulate_set
    from upclens.io import atomic_path
    from upclens.learn.settings import TARGETS

    if path.is_file():
        with np.load(path) as z:
            return z["feats"], z["targets"]
    _, ru_labels, _ = read_event_sets(files["Ru"]["test"])
    zr = pair_config(size, "Zr96")
    feats = np.empty((size.n_test, size.n_max, 5), dtype=np.float32)
    targets = np.empty((size.n_test, len(TARGETS)), dtype=np.float32)
    cols = zr.columns
    for k in range(size.n_test):
        pri = dataclasses.replace(zr.priors, sigma_vn_scale=Prior(
            "fixed", value=float(ru_labels["sigma_vn_scale"][k])))
        feats[k], row = simulate_set(zr.replace(priors=pri), split_seed(seed, 1, 2), k)
        targets[k] = [row[cols.index(t)] for t in TARGETS]
    with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
        np.savez(fh, feats=feats, targets=targets)
    return feats, targets


def _cpu() -> float:
    """CPU seconds of this process and its finished children (workers)."""
    import resource

    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                   resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def pair_table(entries: list[dict[str, Any]]) -> str:
    """Markdown: one line per (N, difference): RMSE, posterior sd, prior sd, RMSE / bound,
    coverage with its binomial error, whether SBC / TARP passed (learner, shrunk), and the
    68 % coverage on the pairs that share sigma_J/psi-N."""
    from upclens.learn.pairs import DIFFERENCES

    head = ["N per species", "difference", "RMSE", "posterior sd", "prior sd", "RMSE / bound",
            "coverage 50 / 68 / 95 %", "SBC+TARP learner", "SBC+TARP shrunk x3",
            "68 % coverage, shared sigma_J/psiN"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        m = e["n_pairs"]
        for name in DIFFERENCES:
            d = e["differences"][name]
            cov = e["coverage"]["interval_coverage"][name]
            err = [math.sqrt(q * (1 - q) / m) for q in e["coverage"]["levels"]]
            ratio = "-" if d["ratio_bound"] is None else f"{d['ratio_bound']:.2f}"
            lines.append("| " + " | ".join([
                str(e["n_events"]), name, f"{d['rmse']:.4f}", f"{d['posterior_sd']:.4f}",
                f"{d['prior_sd']:.4f}", ratio,
                " / ".join(f"{c:.2f}+-{s:.2f}" for c, s in zip(cov, err, strict=True)),
                "pass" if e["coverage"]["passed"] else "fail",
                "pass" if e["overconfident"]["passed"] else "fail",
                f"{e['shared_sigma_vn']['coverage']['interval_coverage'][name][1]:.2f}"]) + " |")
    return "\n".join(lines) + "\n"


def coverage_figure(entries: list[dict[str, Any]], path: str | Path) -> Path:
    """One panel per N: TARP's expected coverage against the credibility level for the learner
    and its samples shrunk by 3, the SBC interval coverage of each difference at 50 / 68 /
    95 %, the diagonal with its 2-binomial-sd band."""
    from upclens.learn.pairs import DIFFERENCES
    from upclens.plots import pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, len(entries), figsize=(3.8 * len(entries), 3.6),
                             constrained_layout=True, squeeze=False)
    for ax, e in zip(axes[0], entries, strict=True):
        a = np.asarray(e["tarp_curve"]["alpha"])
        band = 2 * np.sqrt(a * (1 - a) / e["n_pairs"])
        ax.fill_between(a, a - band, a + band, color="0.85", label="2 binomial sd")
        ax.plot(a, a, color="k", lw=0.8)
        ax.plot(a, e["tarp_curve"]["ecp"], color="C0", label="TARP, learner")
        ax.plot(a, e["tarp_curve"]["ecp_overconfident"], color="C3", ls="--",
                label=f"TARP, shrunk x{OVERCONFIDENT_SHRINK:g}")
        for k, name in enumerate(DIFFERENCES):
            ax.plot(e["coverage"]["levels"], e["coverage"]["interval_coverage"][name], "o",
                    color=f"C{k + 1}", ms=4, label=f"SBC {name}")
        ax.set_xlabel("credibility level")
        ax.set_title(f"N = {e['n_events']} per species, {e['n_pairs']} pairs", fontsize=9)
    axes[0, 0].set_ylabel("coverage on test pairs")
    axes[0, 0].legend(fontsize=6)
    save_figure(fig, str(path))
    return Path(path)
