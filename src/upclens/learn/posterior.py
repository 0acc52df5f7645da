"""Joint posteriors of (beta2, beta3, Delta r_np) from a conditional normalising flow on the
event-set network's summary, nuisances marginalised by training over their priors.

The summary of a set is the network's standardised output (means, log sigmas of the three
targets and the skin logit: 7 numbers).  A neural spline flow (zuko's NSF, Durkan et al. 2019)
models q(theta | summary) of the parameters mapped to the real line through the prior's box:
u = Phi^-1((theta - lo) / (hi - lo)) (the probit; ``FlowSettings.support``), so every sample
lies inside the prior's support, and a uniform prior becomes the flow's own standard normal
base: where the summary barely fixes a parameter the flow need only learn the identity (a
logit map makes the uniform prior logistic, with tails heavier than the Gaussian base; the
choice alone did not change the measured coverage, docs/learning.md).  Flows are trained by
maximum likelihood on (theta, summary) pairs of sets the network was not trained on
(the validation split); nuisances R, a, sigma_J/psi-N vary over their priors in those sets, so
q is the posterior with them marginalised (for the prior of the training sets).  With
``FlowSettings.flows`` = K the density is the equal mixture of K such flows (:class:`FlowEnsemble`):
one flow's coverage scatters from seed to seed by about as much as a binomial standard error on
900 test sets, and the mixture averages that part out.

**Cross-fitted calibration.** A flow fitted on a few hundred distinct nuclei is over-confident
on new ones (its fitting scatter is of the size of its width).  So the sets are split into
``folds`` parts; a flow is trained on all parts but one and sampled on the part it never saw,
for each part in turn, and the factor ``inflation`` (one per parameter, in u) that brings the
central 50 / 68.27 / 95 % intervals of those held-out sets to their nominal coverage is fitted
on all of them, and after it a quantile map per parameter that mends the marginal's shape
(:func:`fit_quantile_map`; used with ``FlowSettings.calibration = 'quantile'``).  The
posterior is one flow trained on every set, widened by that factor about its median
(:func:`inflate`) and, with 'quantile', moved by the map (:func:`recalibrate`); it learns from
all the sets, folds / (folds - 1) times as many as each flow that measured the factor.  Its
coverage is checked with SBC and TARP (``upclens.learn.coverage``) on the test split, which
neither the network nor the flows saw.

The flow is stored in the model's run folder as ``posterior.pt`` with the prior box, the
context scaling, the inflation and the quantile map; ``sample_posterior`` draws samples for
new sets.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from upclens.errors import ParameterError, check_choice, check_integer
from upclens.learn import checkpoint
from upclens.learn.coverage import LEVELS, interval_coverage, normalised_ranks, rank_coverage
from upclens.learn.settings import TARGETS

POSTERIOR_FILE = "posterior.pt"
N_CONTEXT = 2 * len(TARGETS) + 1
EDGE = 1e-6
CAL_WINDOWS = 10  # N-windows per held-out set whose ranks calibrate a fold's flow
CAL_SAMPLES = 200  # posterior samples per held-out window for those ranks
INFLATION_GRID = np.round(np.arange(0.5, 3.0 + 1e-9, 0.01), 2)
QUANTILE_KNOTS = np.linspace(0.0, 1.0, 201)
"""The levels at which the quantile map of a calibration is stored (interpolated between)."""
CALIBRATIONS = ("inflation", "quantile")
SUPPORTS = ("probit", "logit")
"""Maps of the prior's box (0, 1) to the real line: the normal quantile or the logistic one."""


@dataclass(frozen=True)
class FlowSettings:
    """transforms: spline layers; hidden: units of each conditioner layer (2 layers); epochs;
    batch_size; lr; seed; val_fraction: share of a flow's training sets held out to choose its
    epoch; folds: parts of the sets for the cross-fitted calibration (1: none); calibration:
    what the held-out ranks fit, 'inflation' (one factor per parameter about the median) or
    'quantile' (a monotone map of each marginal's levels, :func:`fit_quantile_map`);
    support: the map of the prior's box to the real line the flow lives on, 'probit' or
    'logit' (posteriors fitted before the choice existed used 'logit'); flows: flows averaged
    (:class:`FlowEnsemble`), each from its own initial weights, batch order and epoch-choosing
    sets."""

    transforms: int = 3
    hidden: int = 64
    epochs: int = 200
    batch_size: int = 128
    lr: float = 2.0e-3
    seed: int = 0
    val_fraction: float = 0.2
    folds: int = 5
    calibration: str = "inflation"
    support: str = "probit"
    flows: int = 1


def _flow(settings: FlowSettings) -> torch.nn.Module:
    import zuko

    return zuko.flows.NSF(len(TARGETS), N_CONTEXT, transforms=settings.transforms,
                          hidden_features=(settings.hidden, settings.hidden))


class FlowEnsemble(torch.nn.Module):
    """The equal mixture of K conditional flows, q(u | c) = (1 / K) sum_k q_k(u | c): one
    flow's density carries the scatter of its fit to a few hundred nuclei, and the mixture
    averages it out as an ensemble of networks does."""

    def __init__(self, flows: list[torch.nn.Module]) -> None:
        super().__init__()
        self.flows = torch.nn.ModuleList(flows)

    def sample(self, c: torch.Tensor, n_samples: int) -> torch.Tensor:
        """(n_samples, n, D) draws for contexts c (n, C): n_samples / K from each flow (the
        first n_samples mod K flows one more), in random order along the samples."""
        k = len(self.flows)
        counts = [n_samples // k + (i < n_samples % k) for i in range(k)]
        out = torch.cat([f(c).sample((m,))
                         for f, m in zip(self.flows, counts, strict=True) if m])
        return out if k == 1 else out[torch.randperm(n_samples)]

    def log_prob(self, c: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """(n,) log q(u | c) of the mixture for u (n, D), c (n, C)."""
        lp = torch.stack([f(c).log_prob(u) for f in self.flows])
        return torch.logsumexp(lp, dim=0) - math.log(len(self.flows))


def prior_box(config: dict[str, Any]) -> np.ndarray:
    """(3, 2) support of the priors of beta2, beta3, Delta r_np in a dataset config; the flow
    needs bounded, continuous priors (uniform or truncated normal)."""
    box = []
    for t in TARGETS:
        p = config["priors"][t]
        if p["kind"] not in ("uniform", "normal"):
            raise ParameterError(f"priors.{t}", p["kind"], "must be uniform or normal for a "
                                 "posterior (a continuous prior with a bounded support)")
        lo, hi = float(p["low"]), float(p["high"])
        if p["kind"] == "uniform" and t == "beta3":
            lo, hi = max(lo, 0.0), max(abs(lo), abs(hi))  # |beta3| is stored
        box.append((lo, hi))
    return np.array(box, dtype=float)


def to_unbounded(theta: torch.Tensor, box: torch.Tensor, support: str = "probit"
                 ) -> torch.Tensor:
    """Parameters (..., D) inside the box (D, 2) -> the real line by ``support`` (``SUPPORTS``)
    of their position in the box, clamped to [EDGE, 1 - EDGE] (|u| <= 4.75 for the probit)."""
    check_choice("support", support, SUPPORTS)
    x = ((theta - box[:, 0]) / (box[:, 1] - box[:, 0])).clamp(EDGE, 1.0 - EDGE)
    if support == "probit":
        return torch.special.ndtri(x.double()).to(theta.dtype)
    return torch.log(x) - torch.log1p(-x)


def to_bounded(u: torch.Tensor, box: torch.Tensor, support: str = "probit") -> torch.Tensor:
    """The inverse of :func:`to_unbounded`: every real u lands inside the box."""
    check_choice("support", support, SUPPORTS)
    x = torch.special.ndtr(u) if support == "probit" else torch.sigmoid(u)
    return box[:, 0] + (box[:, 1] - box[:, 0]) * x


@torch.no_grad()
def summaries(model: torch.nn.Module, feats: np.ndarray) -> torch.Tensor:
    """(n, N, 5) sets -> (n, 7) standardised network outputs (means, log sigmas, logit)."""
    from upclens.learn.eventset import in_batches

    model.eval()
    return torch.cat([torch.cat([mu, ls, logit[:, None]], dim=1)
                      for mu, ls, logit in in_batches(model.standardised, feats)])


def validation_halves(n_sets: int) -> tuple[slice, slice]:
    """The validation sets split in two: the first half chooses the network's epochs and
    calibrates its sigmas, the second is new to the network in every way.  The flows train on
    both (:func:`fit_posterior`): measured on the event ladder at N = 1e5, flows fitted on the
    second half alone (160 training pairs) stayed over-confident after calibration (68 %
    intervals of beta2 covering 0.58 of unseen sets), on both halves 0.68-0.73."""
    half = n_sets // 2
    return slice(0, half), slice(half, n_sets)


def interval_coverage_inflated(samples: np.ndarray, truth: np.ndarray, factor: float,
                               levels: tuple[float, ...] = LEVELS) -> np.ndarray:
    """(L,) central-interval coverage of 1D samples (n, S) widened by ``factor`` about each
    row's median, for truths (n,): the rank of t among med + f (s - med) is that of
    med + (t - med) / f among s, so ``coverage.interval_coverage`` of the pulled-in truth."""
    s = np.asarray(samples, dtype=float)
    med = np.median(s, axis=1)
    x = med + (np.asarray(truth, dtype=float) - med) / factor
    return interval_coverage(s[:, :, None], x[:, None], levels)[0]


def fit_inflation(samples: np.ndarray, truth: np.ndarray, levels: tuple[float, ...] = LEVELS,
                  grid: np.ndarray = INFLATION_GRID) -> np.ndarray:
    """(D,) factor per parameter that widens (n, S, D) samples about their medians so that the
    central intervals at ``levels`` cover the truths (n, D) at their nominal rates: the grid
    value minimising sum_q (coverage_q - q)^2 / (q (1 - q)), i.e. chi^2 with binomial weights.
    For Gaussian samples of sd 1 and truths of sd sigma about their centres it is sigma."""
    s, t = np.asarray(samples, dtype=float), np.asarray(truth, dtype=float)
    if s.ndim != 3 or t.shape != (s.shape[0], s.shape[2]) or s.shape[1] < 2:
        raise ParameterError("samples", f"shape {s.shape}", f"must be (n, S >= 2, D) with "
                             f"truths (n, D), got truths {t.shape}")
    lv = np.asarray(levels, dtype=float)
    w = 1.0 / (lv * (1.0 - lv))
    out = []
    for d in range(s.shape[2]):
        chi2 = [float(np.sum(w * (interval_coverage_inflated(s[:, :, d], t[:, d], g, levels)
                                  - lv) ** 2)) for g in grid]
        out.append(float(grid[int(np.argmin(chi2))]))
    return np.array(out)


def fit_quantile_map(samples: np.ndarray, truth: np.ndarray, factor: np.ndarray | None = None,
                     knots: np.ndarray = QUANTILE_KNOTS) -> np.ndarray:
    """(D, K) quantile map per parameter: at each level p of ``knots`` the p-quantile of the
    truths' ranks (n, D) among their samples (n, S, D) widened by ``factor`` (D,) about their
    median (default 1), i.e. H^-1(p) for H the ranks' CDF, made strictly increasing from 0 to
    1.  Replacing each (widened) posterior marginal's CDF F by H(F) (:func:`recalibrate`)
    makes the ranks of such truths uniform: it mends a wrong shape (narrow tails with a wide
    core) that one factor cannot.  The map only moves samples within their range, so the
    factor takes the scale first (a map alone cannot reach beyond the outermost sample)."""
    s, t = np.asarray(samples, dtype=float), np.asarray(truth, dtype=float)
    if s.ndim != 3 or t.shape != (s.shape[0], s.shape[2]) or s.shape[1] < 2:
        raise ParameterError("samples", f"shape {s.shape}", f"must be (n, S >= 2, D) with "
                             f"truths (n, D), got truths {t.shape}")
    out = np.quantile(widened_ranks(s, t, factor), knots, axis=0).T  # (D, K)
    out[:, 0], out[:, -1] = 0.0, 1.0
    # ranks among S samples are discrete: a touch of the identity makes the map strictly rise
    return (1.0 - 1e-6) * np.maximum.accumulate(out, axis=1) + 1e-6 * knots


def widened_ranks(samples: np.ndarray, truth: np.ndarray, factor: np.ndarray | None = None
                  ) -> np.ndarray:
    """(n, D) ranks in (0, 1) of the truths (n, D) among their samples (n, S, D) widened by
    ``factor`` (D,) about their median: those of the truths pulled in by the factor."""
    s, t = np.asarray(samples, dtype=float), np.asarray(truth, dtype=float)
    f = np.ones(s.shape[2]) if factor is None else np.asarray(factor, dtype=float)
    med = np.median(s, axis=1)
    return normalised_ranks(s, med + (t - med) / f)


def recalibrate(u: torch.Tensor, qmap: torch.Tensor, knots: torch.Tensor) -> torch.Tensor:
    """Samples (S, n, D) whose marginal CDFs F are replaced by H(F) of the quantile map
    ``qmap`` (D, K) of H^-1 at ``knots`` (K,): the sample at level p of its marginal moves to
    the marginal's quantile at H^-1(p).  Monotone per marginal, so the ordering of every
    parameter's samples, and with it their dependence (the copula), is kept."""
    n_s = u.shape[0]
    srt, order = u.sort(dim=0)
    p = (torch.arange(n_s, dtype=u.dtype) + 0.5) / n_s
    out = torch.empty_like(u)
    for d in range(u.shape[2]):
        lev = torch.from_numpy(np.interp(p.numpy(), knots.numpy(), qmap[d].numpy())).to(u.dtype)
        pos = (lev * n_s - 0.5).clamp(0.0, n_s - 1.0)
        lo = pos.floor().long()
        hi = (lo + 1).clamp(max=n_s - 1)
        w = (pos - lo.to(u.dtype))[:, None]
        vals = srt[lo, :, d] * (1.0 - w) + srt[hi, :, d] * w  # (S, n), sorted order
        col = torch.empty_like(vals)
        col.scatter_(0, order[:, :, d], vals)
        out[:, :, d] = col
    return out


def inflate(u: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Samples (S, n, D) widened by ``factor`` (D,) about each set's median over S."""
    med = u.median(dim=0, keepdim=True).values
    return med + factor * (u - med)


def _train_flows(c: torch.Tensor, u: torch.Tensor, sets: np.ndarray, n_sets: int,
                 windows: int, settings: FlowSettings, rng: np.random.Generator
                 ) -> tuple[FlowEnsemble, float]:
    """``settings.flows`` flows (:func:`_train_flow`) one after the other on the same
    generators, as an ensemble, and their mean held-out NLL."""
    fitted = [_train_flow(c, u, sets, n_sets, windows, settings, rng)
              for _ in range(settings.flows)]
    return FlowEnsemble([f for f, _ in fitted]), float(np.mean([nll for _, nll in fitted]))


def _train_flow(c: torch.Tensor, u: torch.Tensor, sets: np.ndarray, n_sets: int, windows: int,
                settings: FlowSettings, rng: np.random.Generator
                ) -> tuple[torch.nn.Module, float]:
    """One flow on the pairs of ``sets`` (indices of sets; pair k * n_sets + i is window k of
    set i), its epoch chosen on a held-out ``val_fraction`` of those sets (whole sets).
    Returns the flow at that epoch (eval mode) and its held-out NLL."""
    flow = _flow(settings)
    order = rng.permutation(sets)
    n_val = max(1, round(settings.val_fraction * len(order))) if len(order) > 4 else 0
    spread = n_sets * np.arange(windows)[None, :]
    val = (order[:n_val, None] + spread).ravel()
    tr = (order[n_val:, None] + spread).ravel()
    opt = torch.optim.AdamW(flow.parameters(), lr=settings.lr, weight_decay=1e-4)
    best, best_state = math.inf, None
    for _ in range(_epochs(settings, windows)):
        flow.train()
        perm = rng.permutation(tr)
        for i in range(0, len(perm), settings.batch_size):
            idx = torch.from_numpy(perm[i:i + settings.batch_size])
            loss = -flow(c[idx]).log_prob(u[idx]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        flow.eval()
        with torch.no_grad():
            sel = torch.from_numpy(val if n_val else tr)
            vloss = float(-flow(c[sel]).log_prob(u[sel]).mean())
        if vloss < best:
            best = vloss
            best_state = {k: v.clone() for k, v in flow.state_dict().items()}
    assert best_state is not None
    flow.load_state_dict(best_state)
    flow.eval()
    return flow, best


def _epochs(settings: FlowSettings, windows: int) -> int:
    """A flow's epochs on W windows per set (``eventset.epochs_over_windows``)."""
    from upclens.learn.eventset import epochs_over_windows

    return epochs_over_windows(settings.epochs, windows)


def fit_posterior(run_dir: str | Path, sets_path: str | Path | list[str | Path],
                  settings: FlowSettings | None = None, threads: int = 1,
                  windows: int | None = None, sets: slice | None = None) -> Path:
    """Train the flow, and the cross-fitted flows that measure its inflation, on the sets of
    ``sets_path`` (one file or a list of files of the model's configuration; not the network's
    training sets) at the network's N; write ``run_dir/posterior.pt``.  Returns its path.

    Every disjoint N-window of a stored set is an independent set of N events of its nucleus,
    so the flows train on ``windows`` of them per set (default N_max // N, at most 100; the
    epochs divided by the windows, at least 10); the held-out pairs that choose an epoch and
    the held-out part that calibrates a flow are whole sets (up to ``CAL_WINDOWS`` windows of
    each for the calibration).  ``sets``: only these sets of each file.  The sets must not be
    the network's training sets: on those its summaries are better than new sets give.
    Measured at N = 1e5 on the event ladder (one window per set): with 400 sets the widened
    posterior's 68 % intervals of beta2 covered 0.74-0.76 of 900 unseen sets, with 800
    0.69-0.70."""
    from upclens.learn.eventset import load_set_model, set_windows, window_count

    settings = settings or FlowSettings()
    check_integer("folds", settings.folds, 1, 100)
    check_integer("flows", settings.flows, 1, 100)
    check_choice("calibration", settings.calibration, CALIBRATIONS)
    check_choice("support", settings.support, SUPPORTS)
    run = Path(run_dir)
    model, meta = load_set_model(run)
    n_events = int(meta["n_events"])
    data = _load_all(sets_path, meta["dataset_config"], sets)
    windows = window_count(data.feats.shape[1], n_events, windows)
    n_sets = len(data)
    folds = max(1, min(settings.folds, n_sets // 2))  # at least 2 sets held out per fold
    box = prior_box(data.config)
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        torch.manual_seed(settings.seed)
        ctx = torch.cat([summaries(model, w)
                         for w in set_windows(data.feats, n_events, windows)])
        c_mean, c_std = ctx.mean(dim=0), ctx.std(dim=0).clamp_min(1e-6)
        boxt = torch.as_tensor(box, dtype=torch.float32)
        u = to_unbounded(torch.from_numpy(np.tile(data.targets, (windows, 1))), boxt,
                         settings.support)
        c = (ctx - c_mean) / c_std
        rng = np.random.default_rng(settings.seed)
        t0 = time.perf_counter()
        factor, qmap, cal = ((np.ones(len(TARGETS)), identity_map(), {}) if folds == 1
                             else _cross_fit(c, u, n_sets, windows, folds, settings, rng))
        flow, nll = _train_flows(c, u, np.arange(n_sets), n_sets, windows, settings, rng)
        path = run / POSTERIOR_FILE
        checkpoint.save({"format_version": checkpoint.FORMAT_VERSION,
                         "state_dict": flow.state_dict(),
                         "meta": {"settings": asdict(settings), "box": box.tolist(),
                                  "context_mean": c_mean.tolist(),
                                  "context_std": c_std.tolist(), "n_pairs": len(u),
                                  "n_sets": n_sets, "windows": windows, "folds": folds,
                                  "epochs": _epochs(settings, windows),
                                  "inflation": factor.tolist(), "calibration": cal,
                                  "quantile_knots": QUANTILE_KNOTS.tolist(),
                                  "quantile_map": qmap.tolist(),
                                  "calibration_method": settings.calibration,
                                  "val_nll": nll, "seconds": time.perf_counter() - t0,
                                  "dataset_config": meta["dataset_config"],
                                  "n_events": int(meta["n_events"])}}, path)
    finally:
        torch.set_num_threads(previous)
    return path


def _load_all(paths: str | Path | list[str | Path], config: str, sets: slice | None) -> Any:
    """The sets of one file or several (``eventset.SetData``, concatenated), each checked to
    come from the model's dataset ``config`` (its JSON)."""
    from upclens.learn.eventset import SetData, load_sets

    parts = []
    for path in [paths] if isinstance(paths, (str, Path)) else list(paths):
        data = load_sets(path, sets=sets)
        if json.dumps(data.config, sort_keys=True) != config:
            raise ParameterError("sets", str(path), "must come from the model's configuration")
        parts.append(data)
    if not parts:
        raise ParameterError("sets", "[]", "must name at least one file")
    if len({d.feats.shape[1] for d in parts}) > 1:
        raise ParameterError("sets", str(paths), "must hold the same events per set")
    return SetData(np.concatenate([d.feats for d in parts]),
                   np.concatenate([d.targets for d in parts]),
                   np.concatenate([d.classes for d in parts]),
                   {k: np.concatenate([d.labels[k] for d in parts]) for k in parts[0].labels},
                   parts[0].config)


def _cross_fit(c: torch.Tensor, u: torch.Tensor, n_sets: int, windows: int, folds: int,
               settings: FlowSettings, rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """The inflation (D,) and the quantile map (D, K) from ``folds`` flows, each trained on
    all sets but one part and sampled on that part's windows, and the held-out coverage
    before and after each."""
    parts = np.array_split(rng.permutation(n_sets), folds)
    cal_windows = min(windows, CAL_WINDOWS)
    held_u, held_t = [], []
    for part in parts:
        flow, _ = _train_flows(c, u, np.setdiff1d(np.arange(n_sets), part), n_sets, windows,
                               settings, rng)
        rows = torch.from_numpy((part[None, :] + n_sets * np.arange(cal_windows)[:, None])
                                .ravel())
        with torch.no_grad():
            held_u.append(flow.sample(c[rows], CAL_SAMPLES).permute(1, 0, 2).numpy())
        held_t.append(u[rows].numpy())
    s, t = np.concatenate(held_u), np.concatenate(held_t)
    factor = fit_inflation(s, t)
    qmap = fit_quantile_map(s, t, factor)
    ranks = widened_ranks(s, t, factor)
    mapped = np.stack([np.interp(ranks[:, d], qmap[d], QUANTILE_KNOTS)
                       for d in range(len(TARGETS))], axis=1)
    coverage = {"coverage_before": rank_coverage(widened_ranks(s, t), LEVELS),
                "coverage_after": rank_coverage(ranks, LEVELS),
                "coverage_after_quantile": rank_coverage(mapped, LEVELS)}
    cal = {"levels": list(LEVELS), "folds": folds, "n_held_out": len(t),
           **{key: {name: cov[d].tolist() for d, name in enumerate(TARGETS)}
              for key, cov in coverage.items()}}
    return factor, qmap, cal


def load_posterior(run_dir: str | Path) -> tuple[FlowEnsemble, dict[str, Any]]:
    """The flows of a run folder and its meta, with ``inflation`` (D,) (ones for a flow
    fitted before the calibration existed) (ParameterError when the run has none); a
    posterior stored as one bare flow loads as an ensemble of one."""
    run = Path(run_dir)
    if not (run / POSTERIOR_FILE).is_file():
        raise ParameterError("model", str(run_dir), f"has no {POSTERIOR_FILE} (fit the "
                             "posterior first)")
    obj = checkpoint.load(run / POSTERIOR_FILE)
    obj["meta"]["settings"].setdefault("support", "logit")
    settings = FlowSettings(**obj["meta"]["settings"])
    flow = FlowEnsemble([_flow(settings) for _ in range(settings.flows)])
    state = obj["state_dict"]
    if not any(k.startswith("flows.") for k in state):
        state = {f"flows.0.{k}": v for k, v in state.items()}
    flow.load_state_dict(state)
    flow.eval()
    meta = obj["meta"]
    meta.setdefault("inflation", [1.0] * len(TARGETS))
    meta.setdefault("calibration_method", "inflation")
    return flow, meta


def identity_map() -> np.ndarray:
    """(D, K) the quantile map that changes nothing."""
    return np.tile(QUANTILE_KNOTS, (len(TARGETS), 1))


def calibrated(u: torch.Tensor, meta: dict[str, Any], method: str | None = None
               ) -> torch.Tensor:
    """Flow samples (S, n, D) calibrated as the posterior's meta says (or by ``method``):
    widened by its inflation, and for 'quantile' then moved by its quantile map."""
    method = method or meta["calibration_method"]
    check_choice("calibration", method, CALIBRATIONS)
    if method == "quantile":
        if "quantile_map" not in meta:
            raise ParameterError("calibration", method, "needs a posterior fitted with a "
                                 "quantile map (refit it)")
        return recalibrate(inflate(u, torch.tensor(meta["inflation"], dtype=u.dtype)),
                           torch.tensor(meta["quantile_map"], dtype=u.dtype),
                           torch.tensor(meta["quantile_knots"], dtype=u.dtype))
    return inflate(u, torch.tensor(meta["inflation"], dtype=u.dtype))


@torch.no_grad()
def sample_posterior(run_dir: str | Path, feats: np.ndarray, n_samples: int = 2000,
                     seed: int = 0, method: str | None = None) -> np.ndarray:
    """(n, n_samples, 3) posterior samples of (beta2, beta3, Delta r_np) for (n, N, 5) sets,
    calibrated (:func:`calibrated`, on the flow's real line) as the run's posterior says or
    by ``method``."""
    from upclens.learn.eventset import load_set_model

    check_integer("samples", n_samples, 1, 10_000_000)
    model, _ = load_set_model(run_dir)
    flow, meta = load_posterior(run_dir)
    ctx = summaries(model, feats)
    torch.manual_seed(seed)
    return draw_posterior(flow, meta, ctx, n_samples, method)


def draw_posterior(flow: FlowEnsemble, meta: dict[str, Any], ctx: torch.Tensor, n_samples: int,
                   method: str | None = None) -> np.ndarray:
    """(n, n_samples, 3) samples of ``flow`` (a run's ensemble, or an ensemble of some of its
    flows) for the network's summaries ``ctx`` (n, 7), standardised, calibrated and mapped
    into the prior box as the posterior's ``meta`` says; draws from torch's global
    generator (seed it first)."""
    c = (ctx - torch.tensor(meta["context_mean"])) / torch.tensor(meta["context_std"])
    box = torch.tensor(meta["box"], dtype=torch.float32)
    u = calibrated(flow.sample(c, n_samples), meta, method)  # (S, n, 3)
    return to_bounded(u, box, meta["settings"]["support"]).permute(1, 0, 2).double().numpy()


def check_posterior(run_dir: str | Path, sets_path: str | Path, n_samples: int = 1000,
                    seed: int = 0, n_sd: float = 2.0, out_name: str = "coverage.json"
                    ) -> dict[str, Any]:
    """SBC and TARP coverage of the run's posterior on the sets of ``sets_path`` (sets neither
    the network nor the flow saw), passed when every coverage lies within ``n_sd`` binomial
    standard errors.  Writes ``out_name`` into the run and returns it (``upclens infer`` reads
    ``coverage.json``)."""
    from upclens.learn.coverage import coverage_report
    from upclens.learn.eventset import load_set_model, load_sets

    _, meta = load_set_model(run_dir)
    data = load_sets(sets_path, int(meta["n_events"]))
    samples = sample_posterior(run_dir, data.feats, n_samples, seed)
    _, fmeta = load_posterior(run_dir)
    rep = coverage_report(samples, data.targets.astype(float), TARGETS,
                          np.random.default_rng(seed), bounds=np.asarray(fmeta["box"]),
                          n_sd=n_sd)
    out = rep.to_dict()
    out["n_samples"] = n_samples
    out["n_sd"] = n_sd
    from upclens.io import atomic_path

    with atomic_path(Path(run_dir) / out_name, suffix=".json") as tmp:
        Path(tmp).write_text(json.dumps(out, indent=1))
    return out


def corner_plot(samples: np.ndarray, path: str | Path, truth: np.ndarray | None = None,
                names: tuple[str, ...] = TARGETS, levels: tuple[float, ...] = (0.6827, 0.95)
                ) -> Path:
    """Corner plot of (S, D) samples: 1D histograms on the diagonal with the central
    ``levels`` intervals, 2D histograms below with the highest-density contours enclosing
    ``levels``; the truth as lines when given.  PNG, written atomically."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    s = np.asarray(samples, dtype=float)
    if s.ndim != 2 or s.shape[1] != len(names) or s.shape[0] < 2:
        raise ParameterError("samples", f"shape {s.shape}", f"must be (S >= 2, {len(names)})")
    plt = pyplot()
    d = s.shape[1]
    fig, axes = plt.subplots(d, d, figsize=(2.4 * d, 2.4 * d), constrained_layout=True)
    for i in range(d):
        for j in range(d):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            if i == j:
                ax.hist(s[:, i], bins=40, color="C0", histtype="step")
                for q in levels:
                    lo, hi = np.quantile(s[:, i], [0.5 - q / 2, 0.5 + q / 2])
                    ax.axvspan(lo, hi, color="C0", alpha=0.12)
                ax.set_yticks([])
            else:
                h, xe, ye = np.histogram2d(s[:, j], s[:, i], bins=30)
                flat = np.sort(h.ravel())[::-1]
                cum = np.cumsum(flat) / flat.sum()
                thresholds = sorted({float(flat[min(np.searchsorted(cum, q), flat.size - 1)])
                                     for q in levels})
                ax.contourf(0.5 * (xe[1:] + xe[:-1]), 0.5 * (ye[1:] + ye[:-1]), h.T,
                            levels=[*thresholds, h.max() + 1], cmap="Blues", alpha=0.8)
                if truth is not None:
                    ax.axhline(truth[i], color="C3", lw=0.8)
            if truth is not None:
                ax.axvline(truth[j], color="C3", lw=0.8)
            if i == d - 1:
                ax.set_xlabel(PARAMETER_LABELS.get(names[j], names[j]))
            if j == 0 and i > 0:
                ax.set_ylabel(PARAMETER_LABELS.get(names[i], names[i]))
    save_figure(fig, str(path))
    return Path(path)
