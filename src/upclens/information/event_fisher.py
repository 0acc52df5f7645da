"""Fisher matrix and Cramer-Rao bound of measured J/psi events: what the unknown direction of b
takes away and what the daughter angle, the neutron classes, the rapidity, the acceptance, the pT
window and incoherent production give back or take away.

An analysis (:class:`EventAnalysis`) turns the event density of a parameter point
(:mod:`upclens.information.events_model`) into cell probabilities over (y node, neutron class, pT
ring, Delta phi node), a multinomial for N events in the window; the Delta phi nodes are those of
the periodic trapezoid rule, so the sum over them is the unbinned integral over Delta phi.  The
Fisher matrix, the finite-difference steps, step halving and the nuisance priors are those of
:func:`upclens.information.fisher.fisher_from_model`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from upclens.errors import ParameterError, check_choice, check_range
from upclens.information.events_model import (
    CHANNELS,
    CLASSES,
    N_PHI,
    DensityCache,
    EngineSettings,
    EventDensity,
    angular_factors,
)
from upclens.information.fisher import FisherResult, Parameter, fisher_from_model, sigma_versus_n
from upclens.information.model import PARAMETERS, SHAPE_PARAMETERS, normalise_nuisances

INCOHERENT = Parameter("incoherent_fraction", 0.01, 0.0, 1.0)
"""The incoherent share of the analysed events as a parameter (free unless given a prior)."""


@dataclass(frozen=True)
class EventAnalysis:
    """What is read from each event.

    b_known: the image with b known (b frame pixels, |b| integrated, no decay, y = 0, class any).
    channel: 'none' (pT only) or the decay read for Delta phi ('ee', 'mumu').  classes: the three
    neutron classes tagged.  rapidity: every rapidity node of the engine (else y = 0 only).
    detector: a preset of physics/detector.py or None.  pt_max: window |pT| < pt_max (GeV).
    incoherent: a nucleon-level incoherent background whose share is a parameter.
    square (b known only): the window |px|, |py| < pt_max of today's images instead of the disk.
    neutron_classes: keep only the events of these classes (each tagged; names of
    events_model.CLASSES), the selection of a trigger; empty: all events (tagged when
    ``classes``).  angle: read Delta phi; False integrates it out, which with a detector keeps
    the acceptance of the decay (pT only, as measured through the daughters).  y_observed
    (with ``rapidity``): read each event's rapidity; False pools the events of every rapidity
    node (y not read, the window |y| < y_max kept).
    """

    b_known: bool = False
    channel: str = "none"
    classes: bool = False
    rapidity: bool = False
    detector: str | None = None
    pt_max: float = 0.2
    incoherent: bool = False
    n_phi: int = N_PHI
    square: bool = False
    neutron_classes: tuple[str, ...] = ()
    angle: bool = True
    y_observed: bool = True

    def __post_init__(self) -> None:
        check_choice("channel", self.channel, CHANNELS)
        for c in self.neutron_classes:
            check_choice("neutron class", c, CLASSES)
        if len(set(self.neutron_classes)) != len(self.neutron_classes):
            raise ParameterError("neutron_classes", ",".join(self.neutron_classes),
                                 "must not repeat a class")
        check_range("pt_max", self.pt_max, 0.01, 1.0)
        check_range("n_phi", self.n_phi, 4, 1024)
        if self.detector is not None:
            from upclens.physics.detector import detector

            detector(self.detector)
            if self.channel == "none":
                raise ParameterError("channel", "none", "a detector needs the decay channel "
                                     "(ee or mumu)")


class EventModel:
    """Cell probabilities (n_y, n_class, n_rings, n_phi) per event at a parameter point.

    background: incoherent pT-ring probabilities on the engine's rings (sum 1), needed when the
    analysis has ``incoherent``; its share of the events is the point's 'incoherent_fraction'.
    """

    def __init__(self, analysis: EventAnalysis, cache: DensityCache,
                 background: np.ndarray | None = None) -> None:
        self.analysis = analysis
        self.cache = cache
        if analysis.pt_max > cache.engine.pt_max + 1e-12:
            raise ParameterError("pt_max", analysis.pt_max,
                                 f"must not exceed the engine's {cache.engine.pt_max:g} GeV")
        if analysis.rapidity and cache.engine.y_max == 0.0:
            raise ParameterError("rapidity", True, "needs an engine with y_max > 0")
        if analysis.incoherent and background is None:
            raise ParameterError("background", None, "must be given for an incoherent analysis")
        self.background = background
        self._factors: np.ndarray | None = None
        self.phi = 2.0 * math.pi * np.arange(analysis.n_phi) / analysis.n_phi

    def _select(self, d: EventDensity) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Moments (n_y, n_class, n_rings, 3) times the y weights, the y nodes and ring slice."""
        a = self.analysis
        n_r = int(np.sum(d.ring_edges[1:] <= a.pt_max + 1e-9))
        yi = (np.arange(d.y.size) if a.rapidity else np.array([int(np.argmin(np.abs(d.y)))]))
        if a.neutron_classes:
            ci = np.array([1 + CLASSES.index(c) for c in a.neutron_classes])
        else:
            ci = np.array([1, 2, 3]) if a.classes else np.array([0])
        wy = d.y_weight[yi] if a.rapidity else np.ones(1)
        mom = d.rings[np.ix_(yi, ci, np.arange(n_r))] * wy[:, None, None, None]
        return mom, d.y[yi], d.ring_edges[:n_r + 1]

    def factors(self, y: np.ndarray, edges: np.ndarray) -> np.ndarray:
        """(3, n_y, n_rings, n_phi) angular factors times d phi (acceptance included)."""
        if self._factors is None:
            a = self.analysis
            dphi = 2.0 * math.pi / a.n_phi
            centres = 0.5 * (edges[1:] + edges[:-1])
            if a.detector is None:
                f = angular_factors(a.channel, self.phi)[:, None, None, :]
                f = np.broadcast_to(f, (3, y.size, centres.size, a.n_phi))
            else:
                f = angular_factors(a.channel, self.phi, centres, y, a.detector)
            self._factors = np.ascontiguousarray(f) * dphi
        return self._factors

    def __call__(self, point: Mapping[str, float]) -> np.ndarray:
        d = self.cache(point)
        a = self.analysis
        if a.b_known:
            keep = (np.maximum(np.abs(d.px), np.abs(d.py)) < a.pt_max if a.square
                    else np.hypot(d.px, d.py) < a.pt_max)
            p = d.pixels[keep]
            return p / p.sum()
        mom, y, edges = self._select(d)
        if a.channel == "none":
            coh = mom[..., 0]
        else:
            f = self.factors(y, edges)
            coh = np.einsum("ycrk,kyrf->ycrf", mom, f)
            if not a.angle:
                coh = coh.sum(axis=-1)
        coh = coh / coh.sum()
        if not a.incoherent:
            return self._pool_y(coh)
        frac = float(point.get("incoherent_fraction", 0.0))
        n_r = edges.size - 1
        q = np.asarray(self.background, dtype=float)[:n_r]
        yc = mom[..., 0].sum(axis=2)  # (n_y, n_class): coherent rapidity and class shares
        bg = yc[:, :, None] * q[None, None, :]
        if a.channel != "none":
            bg = np.einsum("ycr,yrf->ycrf", bg, self.factors(y, edges)[0])
            if not a.angle:
                bg = bg.sum(axis=-1)
        bg = bg / bg.sum()
        return self._pool_y((1.0 - frac) * coh + frac * bg)

    def _pool_y(self, p: np.ndarray) -> np.ndarray:
        """Probabilities (n_y, ...) summed over the rapidity nodes when y is not read."""
        return p.sum(axis=0, keepdims=True) if not self.analysis.y_observed else p


def parameters_for(names: Sequence[str]) -> list[Parameter]:
    """The differentiable parameters (shape, nuisances and the incoherent share) by name."""
    return [INCOHERENT if n == INCOHERENT.name else PARAMETERS[n] for n in names]


def event_fisher(point: Mapping[str, float], analysis: EventAnalysis, cache: DensityCache,
                 n_events: float = 1e4, nuisances: object = "R,a,sigma",
                 background: np.ndarray | None = None, incoherent_prior: float = math.inf,
                 check_step: bool = True, step_scale: float = 1.0) -> FisherResult:
    """Fisher matrix and Cramer-Rao bound of ``analysis`` at ``point`` for ``n_events`` J/psi in
    the window.  nuisances as in ``upclens fisher`` ('R,a,sigma' with the default priors); with an
    incoherent background its share is a further nuisance with prior width ``incoherent_prior``
    (inf: free; 0: known, not a parameter)."""
    if not incoherent_prior >= 0.0:
        raise ParameterError("incoherent_prior", incoherent_prior, "must be >= 0 (inf: free)")
    priors = normalise_nuisances(nuisances)
    names = list(SHAPE_PARAMETERS) + [n for n in priors if n not in SHAPE_PARAMETERS]
    full = dict(point)
    if analysis.incoherent:
        if incoherent_prior > 0.0:
            names.append(INCOHERENT.name)
            priors[INCOHERENT.name] = incoherent_prior
        if INCOHERENT.name not in full:
            raise ParameterError("point", sorted(full), "must give incoherent_fraction")
    from upclens.physics.presets import preset

    p = preset(cache.engine.nucleus)
    defaults = {"delta_rnp": 0.0, "beta2": p.beta2, "beta3": p.beta3, "R": p.R, "a": p.a,
                "sigma_vn_scale": 1.0}
    for n in names:
        full.setdefault(n, defaults.get(n, 0.0))
    model = EventModel(analysis, cache, background)
    return fisher_from_model(model, full, parameters_for(names), n_events, priors,
                             "multinomial", step_scale=step_scale, check_step=check_step)


# -- the table ------------------------------------------------------------------------------------
def columns(pt_wide: float = 0.5, detector: str = "star", channel: str = "ee",
            pt_max: float = 0.2) -> dict[str, EventAnalysis]:
    """The cumulative columns of the events table: each adds one handle to the previous; the
    last takes the incoherent background back to the narrow window (the acceptance column with
    the background), to tell whether widening still pays once breakup events are there."""
    a = EventAnalysis(pt_max=pt_max)
    out = {"b known (image)": replace(a, b_known=True),
           "b direction unknown, pT": a}
    a = replace(a, channel=channel)
    out["+ daughter angle"] = a
    a = replace(a, classes=True)
    out["+ neutron classes"] = a
    a = replace(a, rapidity=True)
    out["+ rapidity"] = a
    a = replace(a, detector=detector)
    out[f"+ {detector} acceptance"] = a
    narrow = a
    a = replace(a, pt_max=pt_wide)
    out[f"+ pT < {pt_wide:g} GeV"] = a
    out["+ incoherent"] = replace(a, incoherent=True)
    # the same background without the widening: does the wide window still pay?
    out[f"incoherent, pT < {pt_max:g} GeV"] = replace(narrow, incoherent=True)
    return out


def incoherent_background(engine: EngineSettings, point: Mapping[str, float],
                          n_configurations: int | None = None) -> dict[str, Any]:
    """Nucleon-level incoherent pT-ring probabilities (sum 1 over the engine's rings) at y = 0
    from the Good-Walker ensemble the event generator also draws from
    (``physics.incoherent.EVENT_BACKGROUND``: hot spots, the shape that matches ALICE; with
    ``n_configurations`` instead of its own), and its share of the events in every window:
    sigma_inc / (sigma_inc + sigma_coh) with both from the same ensemble (their common
    normalisation cancels)."""
    from upclens.information.events_model import RING_WIDTH, nucleus_at
    from upclens.physics.incoherent import EVENT_BACKGROUND, pt_spectrum

    settings = EVENT_BACKGROUND
    if n_configurations is not None:
        settings = replace(settings, n_configurations=n_configurations)
    edges = np.arange(0.0, engine.pt_max + 0.5 * RING_WIDTH, RING_WIDTH)
    edges[-1] = engine.pt_max
    # Gauss-Legendre in pT inside each ring (2 nodes: the spectrum is smooth on 10 MeV)
    u, w = np.polynomial.legendre.leggauss(2)
    lo, hi = edges[:-1, None], edges[1:, None]
    pt = 0.5 * (hi - lo) * u + 0.5 * (hi + lo)
    inc, coh = pt_spectrum(nucleus_at(point, engine), engine.sqrt_snn, pt.ravel(), settings)
    jac = (0.5 * (hi - lo) * w).ravel()
    inc = (inc * jac).reshape(pt.shape).sum(axis=1)
    coh = (coh * jac).reshape(pt.shape).sum(axis=1)
    return {"ring_edges": edges, "rings": inc / inc.sum(), "incoherent": inc, "coherent": coh,
            "n_configurations": settings.n_configurations, "hotspots": settings.hotspots}


def share_in_window(background: Mapping[str, Any], pt_max: float) -> float:
    """sigma_inc / (sigma_inc + sigma_coh) for |pT| < pt_max (GeV) from ``background``."""
    n = int(np.sum(background["ring_edges"][1:] <= pt_max + 1e-9))
    inc = float(np.sum(background["incoherent"][:n]))
    coh = float(np.sum(background["coherent"][:n]))
    return inc / (inc + coh)


def event_table(point: Mapping[str, float], engine: EngineSettings,
                analyses: Mapping[str, EventAnalysis], n_values: Sequence[float] = (1e4, 1e5),
                nuisances: object = "R,a,sigma", background: Mapping[str, Any] | None = None,
                check_step: bool = True, incoherent_fraction: float | None = None,
                incoherent_prior: float = math.inf) -> dict[str, Any]:
    """sigma_CRB of (beta2, beta3, Delta r_np) for every analysis (column) and N; an incoherent
    column's share is the background's own in its window (``share_in_window``) or
    ``incoherent_fraction``, with prior width ``incoherent_prior`` (as ``event_fisher``).  Returns
    {'point', 'engine', 'n_values', 'columns': [{name, analysis, sigma: name -> [per N],
    step_change, incoherent_fraction}], 'background'}; one density cache serves all columns."""
    from dataclasses import asdict

    for n in n_values:
        check_range("n_events", n, 0.0, 1e15, lo_open=True)
    cache = DensityCache(engine)
    rows = []
    for name, analysis in analyses.items():
        pt = dict(point)
        bg = None
        if analysis.incoherent:
            if background is None:
                raise ParameterError("background", None, "needed by the incoherent column")
            bg = background["rings"]
            pt["incoherent_fraction"] = (share_in_window(background, analysis.pt_max)
                                         if incoherent_fraction is None
                                         else incoherent_fraction)
        res = event_fisher(pt, analysis, cache, float(n_values[0]), nuisances, bg,
                           incoherent_prior, check_step=check_step)
        sig = sigma_versus_n(res, n_values)
        rows.append({"name": name, "analysis": asdict(analysis),
                     "sigma": {k: v.tolist() for k, v in sig.items()},
                     "step_change": dict(res.step_change),
                     "incoherent_fraction": pt.get("incoherent_fraction"),
                     "per_event": res.per_event.tolist(), "names": res.names})
    return {"point": dict(point), "engine": asdict(engine), "n_values": list(n_values),
            "nuisances": normalise_nuisances(nuisances), "columns": rows,
            "background": None if background is None else
            {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in background.items()}}


def table_markdown(table: Mapping[str, Any]) -> str:
    """The table as Markdown: one row per column of analyses, sigma at each N, and the change
    against the previous row."""
    ns = table["n_values"]
    pars = [p for p in SHAPE_PARAMETERS]
    head = "| analysis | " + " | ".join(f"sigma({p}) N={n:.0e}" for n in ns for p in pars)
    lines = [head + " | vs previous (beta2, N=" + f"{ns[-1]:.0e}) |",
             "|---" * (1 + len(ns) * len(pars) + 1) + "|"]
    prev = None
    for row in table["columns"]:
        cells = [f"{row['sigma'][p][i]:.3g}" for i in range(len(ns)) for p in pars]
        now = row["sigma"]["beta2"][-1]
        change = "" if prev is None else f"{now / prev:.3f}x"
        prev = now
        lines.append(f"| {row['name']} | " + " | ".join(cells) + f" | {change} |")
    return "\n".join(lines) + "\n"


def plot_event_table(table: Mapping[str, Any], path: str | None = None) -> Any:
    """sigma_CRB of each parameter per column (one panel per parameter, markers per N)."""
    from upclens.plots import PARAMETER_LABELS, pyplot, save_figure

    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12.0, 4.2))
    names = [r["name"] for r in table["columns"]]
    x = np.arange(len(names))
    for ax, p in zip(axes, SHAPE_PARAMETERS, strict=True):
        for i, n in enumerate(table["n_values"]):
            ax.plot(x, [r["sigma"][p][i] for r in table["columns"]], "o-",
                    label=f"N = {n:.0e}")
        ax.set_yscale("log")
        ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(r"$\sigma_{\rm CRB}$ of " + PARAMETER_LABELS.get(p, p))
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        save_figure(fig, str(path), dpi=130, tight=True)
    return axes


def write_event_table(out_dir: str, point: Mapping[str, float], engine: EngineSettings,
                      n_values: Sequence[float] = (1e4, 1e5), nuisances: object = "R,a,sigma",
                      pt_max: float = 0.2, detector_name: str = "star", channel: str = "ee",
                      n_configurations: int = 200, check_step: bool = True) -> dict[str, Any]:
    """:func:`event_table` over :func:`columns` written to ``out_dir`` as event_fisher.json,
    .md and .png (each atomically), with the timing; returns the table (Markdown under
    'markdown')."""
    import time
    from pathlib import Path

    from upclens.io import atomic_path, write_json

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    background = incoherent_background(engine, point, n_configurations)
    t_bg = time.perf_counter() - start
    table = event_table(point, engine, columns(engine.pt_max, detector_name, channel, pt_max),
                        n_values, nuisances, background, check_step)
    table["seconds"] = {"incoherent_background": t_bg,
                        "total": time.perf_counter() - start}
    table["markdown"] = table_markdown(table)
    write_json(table, folder / "event_fisher.json", indent=1)
    with atomic_path(folder / "event_fisher.md", suffix=".md") as tmp:
        tmp.write_text(table["markdown"])
    plot_event_table(table, str(folder / "event_fisher.png"))
    return table


def sets_analysis(events: Any, skin_type: str = "halo", reads: tuple[str, ...] | None = None
                  ) -> tuple[EngineSettings, EventAnalysis]:
    """The engine and the analysis that read exactly what an event-set dataset keeps
    (``upclens.data.eventsets``; ``events`` its ``EventConfig``): the pair pT up to the sets'
    pt_max, the daughter angle of their channel, the three classes tagged, the rapidity range;
    with ``reads`` (a subset of ``data.eventsets.READS``) only those handles, the events
    pooled over the others (classes untagged, y not read, the angle integrated out).  A
    detector preset enters through its acceptance of both daughters when the sets have it
    without resolution (cuts res_const = res_slope = 0, the preset's acceptance unchanged).
    Refused for what the event density does not hold: an asymmetric rapidity range, one fixed
    neutron class, a detector's smearing or changed acceptance cuts.  Incoherent events (a
    fixed share ``events.incoherent_fraction``, drawn from ``physics.incoherent``'s
    background of the preset nucleus) make an incoherent analysis (``sets_bound`` gives it
    that background and share)."""
    y_lo, y_hi = float(events.y_min), float(events.y_max)
    if not math.isclose(y_lo, -y_hi, abs_tol=1e-12):
        raise ParameterError("rapidity range", f"[{y_lo:g}, {y_hi:g}]",
                             "must be symmetric about 0 for the event bound")
    if events.neutron_class != "any":
        raise ParameterError("neutron_class", events.neutron_class,
                             "must be 'any' (classes tagged) for the event bound")
    det = _acceptance_only(events)
    engine = EngineSettings(nucleus=events.nucleus, skin_type=skin_type,
                            sqrt_snn=float(events.sqrt_snn), pt_max=float(events.pt_max),
                            y_max=y_hi)
    from upclens.data.eventsets import READS, check_reads

    reads = READS if reads is None else check_reads(reads)
    channel = str(events.channel)
    if det is not None and channel not in CHANNELS:
        raise ParameterError("channel", channel, "must be one of " + ", ".join(CHANNELS)
                             + " for a bound with a detector")
    # without a detector, integrating the angle out is reading no decay at all
    read = channel in CHANNELS and ("angle" in reads or det is not None)
    analysis = EventAnalysis(channel=channel if read else "none", classes="classes" in reads,
                             rapidity=y_hi > 0.0, y_observed="rapidity" in reads,
                             pt_max=float(events.pt_max), detector=det,
                             angle="angle" in reads,
                             incoherent=float(events.incoherent_fraction) > 0.0)
    return engine, analysis


def _acceptance_only(events: Any) -> str | None:
    """The detector preset of event sets whose only cuts switch its resolution off (None
    without a detector); ParameterError otherwise."""
    from upclens.physics.detector import detector

    name = str(events.detector)
    if name == "none":
        return None
    cuts = dict(events.cuts)
    if any(k not in ("res_const", "res_slope") or float(v) != 0.0 for k, v in cuts.items()):
        raise ParameterError("cuts", cuts, "must only set res_const and res_slope to 0 for the "
                             "event bound (the bound reads the acceptance, not the smearing)")
    det = detector(name, **cuts)
    if det.res_const or det.res_slope:
        raise ParameterError("detector", name, "must come with res_const = res_slope = 0 for "
                             "the event bound (it holds no smearing)")
    return name


def sets_bound(events: Any, point: Mapping[str, float], n_values: Sequence[float],
               skin_type: str = "halo", nuisances: object = "R,a,sigma",
               check_step: bool = False,
               columns: Mapping[str, tuple[str, ...]] | None = None) -> dict[str, Any]:
    """The event Cramer-Rao bound of the sets' analysis (:func:`sets_analysis`) at ``point``:
    the :func:`event_table` {'n_values', 'columns': [{'name': 'event sets', 'sigma':
    {parameter: [per N]}}, ...], ...}, readable by the event ladder's ``read_bound``; with
    ``columns`` ({name: reads}) a further column per partial analysis of the same sets.  Sets
    with incoherent events read the background the generator drew them from (the preset
    nucleus's, ``incoherent_background``) at their share, which the sets hold fixed: known to
    the bound as to a learner trained on them."""
    engine, analysis = sets_analysis(events, skin_type)
    analyses = {"event sets": analysis}
    for name, reads in (columns or {}).items():
        analyses[name] = sets_analysis(events, skin_type, reads)[1]
    background = incoherent_background(engine, {}) if analysis.incoherent else None
    return event_table(point, engine, analyses, n_values, nuisances, background,
                       check_step=check_step,
                       incoherent_fraction=float(events.incoherent_fraction),
                       incoherent_prior=0.0)
