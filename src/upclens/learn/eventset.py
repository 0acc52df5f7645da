"""A permutation-invariant network over a set of events (Deep Sets, Zaheer et al. 2017).

Per event the input is what a measured list gives (``upclens.data.eventsets.FEATURES``), mapped
to rotation-invariant quantities: |pT|, cos/sin of Delta phi and 2 Delta phi, rapidity and the
one-hot neutron class.  The lab px, py are not used: with b's direction random per event the
per-event density is invariant under rotations of the lab frame, so the lab angle of pT carries
no information (the lab (px, py) histogram image is given to the ResNet for comparison).

``SetSettings.reads`` names the handles the network reads (``data.eventsets.READS``); the
inputs of a handle it does not read are zero after standardisation, so the network sees the
events pooled over it (the learner of one column of the event bound).

EventSetNet: standardised event features (B, N, 9) -> per-event MLP phi (9 -> w -> w -> w) ->
pooled mean and standard deviation over the N events (2w) -> head MLP (2w -> h -> h) -> the
ResNet's heads: mean and log sigma of (beta2, beta3, Delta r_np) in standardised units and the
skin logit; target mean/std and the calibrated ``sigma_scale`` are buffers, so ``forward``
returns physical units in the ShapeNet's dict.  With ``SetSettings.heads`` = K > 1 the network
holds K heads on the same phi, each trained from its own initialisation and batch order, and
returns their average (a deep ensemble of the head: the means averaged, the variances those of
the mixture).  The set's size N enters only through the noise of the pooled moments: one
network per N (sets at N are subsets of the stored N_max events).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from upclens import __version__
from upclens.data.eventsets import READS, check_reads
from upclens.errors import ParameterError, check_integer, check_range
from upclens.learn import checkpoint
from upclens.learn.losses import MultiTaskLoss
from upclens.learn.resnet import LOG_SIGMA_RANGE
from upclens.learn.settings import CLASS_COLUMN, TARGETS

N_INPUT = 9
INPUT_COLUMNS = {"pt": (0,), "angle": (1, 2, 3, 4), "rapidity": (5,), "classes": (6, 7, 8)}
"""The network inputs of each handle of ``data.eventsets.READS`` (see ``event_inputs``)."""
EVENTS_PER_BATCH = 1 << 18  # events in one forward pass (memory bound)
MODEL_KIND = "eventset"


@dataclass(frozen=True)
class SetSettings:
    """width: units of the per-event MLP; head: units of the head MLP; epochs; batch_size: sets
    per step (fewer when batch_size x N exceeds EVENTS_PER_BATCH); lr: peak of the one-cycle
    schedule; weight_decay; subsample: draw a fresh random N-subset of each stored set every
    epoch (augmentation; the validation sets use their first N events); calibrate: rescale
    sigma so that +-1 sigma covers 68.27 % of the validation set; seed; reads: the handles of
    each event the network reads (``data.eventsets.READS``; 'pt' always); heads: independent
    heads on the same phi whose outputs are averaged (a refitted head trains each on its own
    batch order; end to end they share the batches)."""

    width: int = 64
    head: int = 128
    epochs: int = 40
    batch_size: int = 32
    lr: float = 2.0e-3
    weight_decay: float = 1.0e-4
    subsample: bool = True
    calibrate: bool = True
    seed: int = 0
    reads: tuple[str, ...] = READS
    heads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", check_reads(self.reads))
        check_integer("heads", self.heads, 1, 64)
        check_integer("width", self.width, 1, 4096)
        check_integer("head", self.head, 1, 4096)
        check_integer("epochs", self.epochs, 1, 10_000)
        check_integer("batch_size", self.batch_size, 1, 65_536)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_integer("seed", self.seed, 0, 2**63 - 1)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SetSettings:
        known = {f.name for f in fields(cls)}
        bad = [k for k in d if k not in known]
        if bad:
            raise ParameterError("set setting", bad[0], "must be one of " + ", ".join(known))
        return cls(**d)


def event_inputs(feats: torch.Tensor) -> torch.Tensor:
    """(..., 5) stored features (px, py, delta_phi, rapidity, class) -> (..., 9) network inputs:
    |pT|, cos dphi, sin dphi, cos 2 dphi, sin 2 dphi, rapidity, one-hot class (3)."""
    pt = torch.hypot(feats[..., 0], feats[..., 1])
    dphi = feats[..., 2]
    cls = torch.nn.functional.one_hot(feats[..., 4].round().long().clamp(0, 2), 3)
    return torch.cat([torch.stack([pt, torch.cos(dphi), torch.sin(dphi), torch.cos(2 * dphi),
                                   torch.sin(2 * dphi), feats[..., 3]], dim=-1),
                      cls.to(feats.dtype)], dim=-1)


class SetHead(nn.Module):
    """Standardised pooled moments (B, 2w) -> mean (B, T), log sigma (B, T) standardised and the
    skin logit (B,)."""

    def __init__(self, w: int, h: int, n_t: int) -> None:
        super().__init__()
        self.rho = nn.Sequential(nn.Linear(2 * w, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU())
        self.regression = nn.Linear(h, 2 * n_t)
        self.classifier = nn.Linear(h, 1)
        self.n_t = n_t

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        h = self.rho(x)
        out = self.regression(h)
        return (out[:, :self.n_t], out[:, self.n_t:].clamp(*LOG_SIGMA_RANGE),
                self.classifier(h)[:, 0])


def ensemble(outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The average of K heads' (mean, log sigma, logit): the mean of the means, the log sigma
    of the equal mixture of their Gaussians (variance: the mean variance plus the means'
    scatter), the mean logit."""
    if len(outputs) == 1:
        return outputs[0]
    mu = torch.stack([o[0] for o in outputs])
    var = torch.stack([torch.exp(2.0 * o[1]) for o in outputs]).mean(dim=0)
    var = var + mu.var(dim=0, unbiased=False)
    log_sigma = (0.5 * torch.log(var)).clamp(*LOG_SIGMA_RANGE)
    return mu.mean(dim=0), log_sigma, torch.stack([o[2] for o in outputs]).mean(dim=0)


class EventSetNet(nn.Module):
    """Deep Sets regression network; ``forward`` maps stored features (B, N, 5) float32 to the
    ShapeNet's dict of (B,) tensors (beta2, beta3, delta_rnp, their sigmas, skin_logit)."""

    def __init__(self, settings: SetSettings) -> None:
        super().__init__()
        self.targets = TARGETS
        w, h = settings.width, settings.head
        self.phi = nn.Sequential(nn.Linear(N_INPUT, w), nn.ReLU(), nn.Linear(w, w), nn.ReLU(),
                                 nn.Linear(w, w))
        n_t = len(TARGETS)
        self.heads = nn.ModuleList([SetHead(w, h, n_t) for _ in range(settings.heads)])
        self.register_buffer("input_mean", torch.zeros(N_INPUT))
        self.register_buffer("input_std", torch.ones(N_INPUT))
        self.register_buffer("target_mean", torch.zeros(n_t))
        self.register_buffer("target_std", torch.ones(n_t))
        self.register_buffer("sigma_scale", torch.ones(n_t))
        self.register_buffer("pool_mean", torch.zeros(2 * w))
        self.register_buffer("pool_std", torch.ones(2 * w))
        self.reads = settings.reads
        mask = torch.zeros(N_INPUT)
        for r in settings.reads:
            mask[list(INPUT_COLUMNS[r])] = 1.0
        self.register_buffer("input_mask", mask, persistent=False)

    def summary(self, feats: torch.Tensor) -> torch.Tensor:
        """(B, N, 5) -> pooled (B, 2w): mean and standard deviation of phi over the events."""
        x = (event_inputs(feats) - self.input_mean) / self.input_std * self.input_mask
        e = self.phi(x)
        mean = e.mean(dim=1)
        sd = torch.sqrt(((e - mean[:, None]) ** 2).mean(dim=1) + 1e-6)
        return torch.cat([mean, sd], dim=1)

    def head_input(self, pooled: torch.Tensor) -> torch.Tensor:
        """Pooled (B, 2w) standardised with ``pool_mean``, ``pool_std`` (0 and 1 unless the
        head was refitted on fixed pooled moments): what every head reads."""
        return (pooled - self.pool_mean) / self.pool_std

    def each_head(self, pooled: torch.Tensor
                  ) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        """Pooled (B, 2w) -> every head's (mean (B, T), log sigma (B, T), logit (B,))."""
        x = self.head_input(pooled)
        return [head(x) for head in self.heads]

    def head_outputs(self, pooled: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Pooled (B, 2w) -> mean (B, T), log sigma (B, T) standardised, skin logit (B,): the
        ``ensemble`` of the heads."""
        return ensemble(self.each_head(pooled))

    def standardised(self, feats: torch.Tensor
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, N, 5) -> mean (B, T), log sigma (B, T) standardised, skin logit (B,)."""
        return self.head_outputs(self.summary(feats))

    def reset_head(self, seed: int) -> None:
        """Fresh random weights for the heads (one seed, drawn in turn); phi is kept."""
        torch.manual_seed(seed)
        for head in self.heads:
            for module in (head.rho, head.regression, head.classifier):
                for layer in module.modules():
                    if isinstance(layer, nn.Linear):
                        layer.reset_parameters()

    def forward(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        mu, log_sigma, logit = self.standardised(feats)
        mean = self.target_mean + self.target_std * mu
        sigma = self.sigma_scale * self.target_std * torch.exp(log_sigma)
        out = {"skin_logit": logit}
        for k, name in enumerate(self.targets):
            out[name] = mean[:, k]
            out[f"{name}_sigma"] = sigma[:, k]
        return out


# -- data ----------------------------------------------------------------------------------
@dataclass
class SetData:
    """feats (n, N_max, 5) float32, targets (n, T), classes (n,), labels by column, config."""

    feats: np.ndarray
    targets: np.ndarray
    classes: np.ndarray
    labels: dict[str, np.ndarray]
    config: dict[str, Any]

    def __len__(self) -> int:
        return int(self.feats.shape[0])


def load_sets(path: str | Path, n_events: int | None = None, sets: slice | None = None
              ) -> SetData:
    """An event-set file (``upclens.data.eventsets``), the first ``n_events`` of each set;
    ``sets``: only these sets (e.g. one part of a split whose other part serves another fit)."""
    from upclens.data.eventsets import read_event_sets

    feats, labels, config = read_event_sets(path, n_events)
    if sets is not None:
        feats = feats[sets]
        labels = {k: v[sets] for k, v in labels.items()}
        if len(feats) == 0:
            raise ParameterError("sets", f"{sets.start}:{sets.stop}", f"selects no set of {path}")
    if not np.isfinite(feats).all():
        raise ParameterError("data", str(path), "has non-finite event features")
    targets = np.stack([labels[t] for t in TARGETS], axis=1).astype(np.float32)
    return SetData(feats, targets, labels[CLASS_COLUMN].astype(np.float32), labels, config)


def in_batches(fn: Any, feats: np.ndarray) -> list[Any]:
    """``fn`` (without gradients) on consecutive slices of the (n, N, 5) sets that hold at most
    EVENTS_PER_BATCH events (at least one set); the list of its outputs, in order."""
    step = max(1, EVENTS_PER_BATCH // max(feats.shape[1], 1))
    with torch.no_grad():
        return [fn(torch.from_numpy(np.ascontiguousarray(feats[i:i + step])))
                for i in range(0, len(feats), step)]


def predict_sets(model: EventSetNet, feats: np.ndarray) -> dict[str, np.ndarray]:
    """Predictions for (n, N, 5) sets, in batches that fit EVENTS_PER_BATCH."""
    model.eval()
    parts = in_batches(model, feats)
    return {k: torch.cat([p[k] for p in parts]).numpy() for k in parts[0]}


# -- training ------------------------------------------------------------------------------
def _fit_scaling(model: EventSetNet, data: SetData) -> None:
    x = event_inputs(torch.from_numpy(data.feats[:, :min(data.feats.shape[1], 4096)]))
    x = x.reshape(-1, N_INPUT)
    sd = x.std(dim=0)
    model.input_mean.copy_(x.mean(dim=0))
    model.input_std.copy_(torch.where(sd > 1e-6, sd, torch.ones_like(sd)))
    t = torch.from_numpy(data.targets)
    model.target_mean.copy_(t.mean(dim=0))
    model.target_std.copy_(t.std(dim=0).clamp_min(1e-6) if len(t) > 1 else torch.ones(len(TARGETS)))


def _loss_on(model: EventSetNet, loss_fns: list[MultiTaskLoss], feats: np.ndarray,
             targets: np.ndarray, classes: np.ndarray, batch: int, pooled: bool = False
             ) -> tuple[float, np.ndarray]:
    """Mean validation objective (summed over the heads, each with its loss) and the (n, T)
    |y - mu| / sigma_raw of every set for the heads' ensemble; ``feats`` are the sets (n, N,
    5), or their pooled summaries (n, 2w) when ``pooled``."""
    model.eval()
    total, z = 0.0, []
    with torch.no_grad():
        for i in range(0, len(feats), batch):
            x = torch.from_numpy(np.ascontiguousarray(feats[i:i + batch]))
            y = (torch.from_numpy(targets[i:i + batch]) - model.target_mean) / model.target_std
            outs = model.each_head(x if pooled else model.summary(x))
            cls = torch.from_numpy(classes[i:i + batch])
            total += sum(float(fn(*o, y, cls)[0]) for fn, o in zip(loss_fns, outs, strict=True)
                         ) * len(x)
            mu, ls, _ = ensemble(outs)
            z.append(((y - mu).abs() * torch.exp(-ls)).numpy())
    return total / len(feats), np.concatenate(z)


def train_sets(train_path: str | Path, val_path: str | Path, out_dir: str | Path,
               n_events: int, settings: SetSettings | None = None, threads: int = 1,
               progress: bool = False, val_sets: slice | None = None) -> Path:
    """Train an EventSetNet on sets of ``n_events`` events; keep the epoch of lowest validation
    loss, calibrate its sigmas on the validation set; write ``out_dir/model.pt`` and
    ``history.json``.  Returns the run folder."""
    settings = settings or SetSettings()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tr = load_sets(train_path)
    va = load_sets(val_path, n_events, val_sets)
    if tr.config != va.config:
        raise ParameterError("val", str(val_path), "must come from the training sets' config")
    n_events = check_integer("n_events", n_events, 1, tr.feats.shape[1])
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _train(tr, va, out, n_events, settings, progress)
    finally:
        torch.set_num_threads(previous)


def _train(tr: SetData, va: SetData, out: Path, n_events: int, settings: SetSettings,
           progress: bool) -> Path:
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = EventSetNet(settings)
    _fit_scaling(model, tr)
    loss_fns = [MultiTaskLoss("learned") for _ in model.heads]
    batch = max(1, min(settings.batch_size, EVENTS_PER_BATCH // n_events))

    def epoch_inputs() -> np.ndarray:
        return (subsets_of(tr.feats, n_events, rng) if settings.subsample
                else tr.feats[:, :n_events])

    t0 = time.perf_counter()
    params = [*model.parameters(), *(p for fn in loss_fns for p in fn.parameters())]
    history = _fit(model, loss_fns, params, epoch_inputs, tr, va.feats, va, batch, settings, rng,
                   progress, pooled=False)
    return _finish(model, loss_fns, va.feats, va, batch, settings, tr, out, history,
                   {"n_events": n_events, "train_seconds": time.perf_counter() - t0})


def _fit(model: EventSetNet, loss_fns: list[MultiTaskLoss], params: list[torch.nn.Parameter],
         epoch_inputs: Any, tr: SetData, va_inputs: np.ndarray, va: SetData, batch: int,
         settings: SetSettings, rng: np.random.Generator, progress: bool, pooled: bool
         ) -> list[dict[str, float]]:
    """AdamW with a one-cycle schedule over ``settings.epochs``; ``epoch_inputs()`` gives the
    training inputs of an epoch (sets, or pooled summaries when ``pooled``).  The objective is
    the sum of the heads' losses; on pooled summaries every head draws its own batch order
    (sets share one: their summaries are the cost).  Leaves the model at the epoch of lowest
    validation loss; returns the history."""
    steps = settings.epochs * math.ceil(len(tr) / batch)
    opt = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, settings.lr, total_steps=steps,
                                                pct_start=0.2)
    best, best_state, history = math.inf, None, []
    t0 = time.perf_counter()
    n_orders = len(loss_fns) if pooled else 1
    for epoch in range(settings.epochs):
        model.train()
        inputs = epoch_inputs()
        orders = [rng.permutation(len(tr)) for _ in range(n_orders)]
        for i in range(0, len(tr), batch):
            idxs = [np.sort(order[i:i + batch]) for order in orders]
            if pooled:
                outs = [head(model.head_input(torch.from_numpy(
                            np.ascontiguousarray(inputs[idx]))))
                        for head, idx in zip(model.heads, idxs, strict=True)]
            else:
                x = torch.from_numpy(np.ascontiguousarray(inputs[idxs[0]]))
                outs = model.each_head(model.summary(x))
                idxs = idxs * len(outs)
            loss = sum(fn(*o, (torch.from_numpy(tr.targets[idx]) - model.target_mean)
                          / model.target_std, torch.from_numpy(tr.classes[idx]))[0]
                       for fn, o, idx in zip(loss_fns, outs, idxs, strict=True))
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        val_loss, _ = _loss_on(model, loss_fns, va_inputs, va.targets, va.classes, batch,
                               pooled)
        history.append({"epoch": epoch + 1, "val_loss": val_loss,
                        "seconds": time.perf_counter() - t0})
        if progress:
            print(f"epoch {epoch + 1}: val loss {val_loss:.4f}")
        if val_loss < best:
            best = val_loss
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
    assert best_state is not None
    model.load_state_dict(best_state)
    return history


def _finish(model: EventSetNet, loss_fns: list[MultiTaskLoss], va_inputs: np.ndarray, va: SetData,
            batch: int, settings: SetSettings, tr: SetData, out: Path,
            history: list[dict[str, float]], extra: dict[str, Any]) -> Path:
    """Calibrate the sigmas on the validation sets and write model.pt and history.json."""
    pooled = va_inputs.ndim == 2
    scale = np.ones(len(TARGETS))
    if settings.calibrate:
        _, z = _loss_on(model, loss_fns, va_inputs, va.targets, va.classes, batch, pooled)
        scale = np.maximum(np.quantile(z, 0.6827, axis=0), 1e-6)
        model.sigma_scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
    meta = {"model": MODEL_KIND, "settings": asdict(settings),
            "dataset_config": json.dumps(tr.config, sort_keys=True),
            "targets": list(TARGETS), "sigma_scale": [float(s) for s in scale],
            "label_ranges": {t: [float(tr.labels[t].min()), float(tr.labels[t].max())]
                             for t in TARGETS},
            "n_train": len(tr), **extra,
            "upclens_version": __version__, "torch_version": str(torch.__version__)}
    checkpoint.save({"format_version": checkpoint.FORMAT_VERSION,
                     "state_dict": model.state_dict(), "meta": meta}, out / checkpoint.MODEL_FILE)
    (out / "history.json").write_text(json.dumps(history, indent=1))
    return out


def pooled_summaries(model: EventSetNet, feats: np.ndarray) -> np.ndarray:
    """(n, N, 5) sets -> (n, 2w) pooled phi moments (float32), in batches of EVENTS_PER_BATCH
    events."""
    model.eval()
    return torch.cat(in_batches(model.summary, feats)).numpy()


MAX_WINDOWS = 100
"""At most this many disjoint N-windows of each stored set feed a refitted head or a flow."""


def window_count(n_max: int, n_events: int, windows: int | None = None) -> int:
    """How many disjoint N-windows of each stored set of N_max events a fit uses: ``windows``
    (checked), by default N_max // N, at most ``MAX_WINDOWS``."""
    most = max(1, min(MAX_WINDOWS, n_max // n_events))
    return most if windows is None else check_integer("windows", windows, 1, most)


def set_windows(feats: np.ndarray, n_events: int, windows: int) -> list[np.ndarray]:
    """The first ``windows`` disjoint N-windows of (n, N_max, 5) sets, each (n, N, 5): every
    window is an independent set of N events of the same nucleus."""
    return [feats[:, k * n_events:(k + 1) * n_events] for k in range(windows)]


def epochs_over_windows(epochs: int, windows: int) -> int:
    """The epochs of a fit on W windows per set: the epochs of one window divided by W (the
    same number of steps), at least 10; unchanged for W = 1."""
    return epochs if windows <= 1 else max(10, math.ceil(epochs / windows))


def refit_head(base_run: str | Path, train_path: str | Path, val_path: str | Path,
               out_dir: str | Path, n_events: int, settings: SetSettings | None = None,
               threads: int = 1, progress: bool = False, windows: int | None = None,
               val_sets: slice | None = None) -> Path:
    """An EventSetNet for sets of ``n_events`` events that keeps the per-event network phi of
    ``base_run`` (trained at another N) and trains a fresh head on the pooled summaries of
    disjoint ``n_events``-windows of every training set.

    Why: the information of a set is a sum over its events, and the statistic that carries it
    (the score of the per-event density) does not depend on N; only the map from the pooled
    moments to the parameters does, as their noise falls like 1 / sqrt(N).  Phi learned on
    many random subsets at a smaller N therefore serves a larger N, and the head is cheap to
    retrain (the pooled summaries are computed once): at N = 1e5 this replaces ~40 CPU minutes
    of training through every event by one forward pass.  The head trains on the pooled
    moments of ``windows`` disjoint N-windows of every training set (default N_max // N, at
    most ``MAX_WINDOWS``): every window is an independent set of N events of the same nucleus,
    so the head sees the noise of N events on W times as many examples (for W > 1 the epochs
    are divided by W, to the same number of steps, at least 10).  The validation sets use their
    first N events.  With ``settings.heads`` = K the K heads train at once, each from its own
    initialisation and batch order, and the network returns their average (measured on the
    event ladder's |pT|-only network at N = 1e5: four heads fitted one by one on the same phi
    read beta2 at 1.27-1.35 of the bound, their average at 1.29).  Writes
    ``out_dir/model.pt`` (meta 'phi_from' names the base run) and ``history.json``; returns
    the folder."""
    settings = settings or SetSettings()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    base, base_meta = load_set_model(base_run)
    shape = SetSettings.from_dict(base_meta["settings"])
    # the heads read what phi reads, at the base run's widths
    settings = replace(settings, reads=base.reads, width=shape.width, head=shape.head)
    model = EventSetNet(settings)
    model.load_state_dict({k: v for k, v in base.state_dict().items()
                           if not k.startswith("heads.")}, strict=False)
    tr = load_sets(train_path)
    va = load_sets(val_path, n_events, val_sets)
    n_events = check_integer("n_events", n_events, 1, tr.feats.shape[1])
    windows = window_count(tr.feats.shape[1], n_events, windows)
    same = json.dumps(tr.config, sort_keys=True) == base_meta["dataset_config"]
    if not same or tr.config != va.config:
        raise ParameterError("train", str(train_path), "must come from the base model's "
                             "configuration (and so must the validation sets)")
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        s_tr = np.concatenate([pooled_summaries(model, w)
                               for w in set_windows(tr.feats, n_events, windows)])
        s_va = pooled_summaries(model, va.feats)
        t_pool = time.perf_counter() - t0
        tiled = SetData(s_tr, np.tile(tr.targets, (windows, 1)), np.tile(tr.classes, windows),
                        {k: np.tile(v, windows) for k, v in tr.labels.items()}, tr.config)
        settings = replace(settings, epochs=epochs_over_windows(settings.epochs, windows))
        model.reset_head(settings.seed)
        # the pooled moments of 1e5 events differ between sets by little: standardise them
        st = torch.from_numpy(s_tr)
        model.pool_mean.copy_(st.mean(dim=0))
        model.pool_std.copy_(st.std(dim=0).clamp_min(1e-6))
        for p in model.phi.parameters():
            p.requires_grad_(False)
        loss_fns = [MultiTaskLoss("learned") for _ in model.heads]
        rng = np.random.default_rng(settings.seed)
        head = [*model.heads.parameters(), *(p for fn in loss_fns for p in fn.parameters())]
        batch = min(settings.batch_size, len(tiled))
        history = _fit(model, loss_fns, head, lambda: s_tr, tiled, s_va, va, batch, settings,
                       rng, progress, pooled=True)
        for p in model.phi.parameters():
            p.requires_grad_(True)
        return _finish(model, loss_fns, s_va, va, batch, settings, tr, out, history,
                       {"n_events": n_events, "phi_from": str(base_run), "windows": windows,
                        "phi_n_events": int(base_meta["n_events"]), "pool_seconds": t_pool,
                        "train_seconds": time.perf_counter() - t0})
    finally:
        torch.set_num_threads(previous)


def subsets_of(feats: np.ndarray, n_events: int, rng: np.random.Generator) -> np.ndarray:
    """Random N-subsets of every set (the data layer's ``subsets``); the stored sets when
    N = N_max."""
    from upclens.data.eventsets import subsets

    if n_events == feats.shape[1]:
        return feats
    return subsets(feats, n_events, rng)


SINGLE_HEAD = ("rho", "regression", "classifier")
"""The head's modules in models saved with one head, outside ``EventSetNet.heads``."""


def load_set_model(run_dir: str | Path) -> tuple[EventSetNet, dict[str, Any]]:
    """The trained EventSetNet of a run folder (eval mode, CPU) and its meta."""
    run = Path(run_dir)
    if not run.is_dir():
        raise ParameterError("model", str(run_dir), "must be a run folder of an event-set model")
    obj = checkpoint.load(run / checkpoint.MODEL_FILE)
    meta = obj["meta"]
    if meta.get("model") != MODEL_KIND:
        raise ParameterError("model", str(run_dir), "is not an event-set model (it reads "
                             "images; use upclens predict)")
    model = EventSetNet(SetSettings.from_dict(meta["settings"]))
    state = {(f"heads.0.{k}" if k.split(".")[0] in SINGLE_HEAD else k): v
             for k, v in obj["state_dict"].items()}  # models saved before the head ensembles
    for name in ("pool_mean", "pool_std"):  # models saved before the refitted heads
        state.setdefault(name, getattr(model, name))
    model.load_state_dict(state)
    model.eval()
    return model, meta
