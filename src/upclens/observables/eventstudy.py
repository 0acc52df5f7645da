"""Event samples of one nucleus as an experiment selects them, and their observables.

:func:`simulate` makes the collisions once (the engine's :class:`EventSampler`: one |b|, b
direction, rapidity and meson per event, with the meson's spin density matrix; then the decay),
together with every random number a selection needs.  :func:`select` applies one
:class:`Selection` (detector acceptance and resolution, forward-neutron classes with a detection
efficiency, photon-flux normalisation, incoherent share) to those events.  Two selections of the
same sample share their random numbers, so the difference between them is the effect of the
selection alone, without sampling noise (common random numbers); that is how a systematic
effect is measured here.

Neutron classes are drawn per event from the event's own |b|: each nucleus is excited
independently with probability 1 - exp(-m(b)) (physics/neutrons.py, m scaled by the flux
normalisation) and its neutrons are seen with the zero-degree calorimeter's efficiency; the
class is the number of sides seen (0n0n, 0nXn either side, XnXn).  Sampling the class from b
after the event is exactly the class-weighted |b| distribution of the sampler's ``b_weight``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from upclens.errors import ParameterError, check_range
from upclens.observables.events import Binned, cos_n_delta_phi, pair_pt, pt_spectrum

if TYPE_CHECKING:
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.production import EventSampler
    from upclens.physics.settings import ModelSwitches

CLASSES = ("0n0n", "0nXn", "XnXn")


@dataclass(frozen=True)
class Production:
    """What is produced: meson and decay channel, sqrt_snn (GeV), the meson rapidity range
    (lo, hi), the largest coherent pT (GeV) and the engine's switches (None: the vector photon
    field with the engine's defaults; the daughters' angle needs the vector field)."""

    meson: str = "jpsi"
    channel: str = "ee"
    sqrt_snn: float = 200.0
    rapidity: tuple[float, float] = (-1.0, 1.0)
    pt_max: float = 0.3
    switches: ModelSwitches | None = None


@dataclass(frozen=True)
class Selection:
    """How the events are selected and measured.

    detector: preset name (physics/detector.py); eta_max / pt_min: replace its |eta| edge and
    daughter pT cut (GeV) when given; res_scale: multiplies its momentum resolution.
    flux_scale: multiplies the photon flux (the meson yield, which cancels in a normalised
    spectrum, and the Coulomb-excitation mean m(b), which does not).  incoherent_fraction: share
    of the events in the production's pT window that are incoherent.  zdc_efficiency:
    probability that a nucleus' forward neutrons are seen.
    """

    detector: str = "none"
    eta_max: float | None = None
    pt_min: float | None = None
    res_scale: float = 1.0
    flux_scale: float = 1.0
    incoherent_fraction: float = 0.0
    zdc_efficiency: float = 1.0

    def __post_init__(self) -> None:
        check_range("res_scale", self.res_scale, 0.0, 10.0)
        check_range("flux_scale", self.flux_scale, 0.1, 10.0)
        check_range("incoherent_fraction", self.incoherent_fraction, 0.0, 1.0, hi_open=True)
        check_range("zdc_efficiency", self.zdc_efficiency, 0.0, 1.0, lo_open=True)
        if self.eta_max is not None:
            check_range("eta_max", self.eta_max, 0.0, 10.0, lo_open=True)
        if self.pt_min is not None:
            check_range("pt_min", self.pt_min, 0.0, 10.0)


@dataclass(frozen=True)
class RawEvents:
    """Collisions of one nucleus before any selection (N events).

    p1, p2: (N, 4) true daughter four-momenta (GeV, stored in single precision) of the coherent
    meson; q1, q2: those of the
    same event had it been incoherent (pT from the nucleon-level Good-Walker spectrum inside
    the production's pT window, ``physics.incoherent.EVENT_BACKGROUND``, as the event generator
    and the event bound have it; polarised along b);
    b: (N,) fm; Z, A, sqrt_snn: the system; daughter_mass (GeV); seeds: the streams of the
    selection's random numbers; u: (N, 5) uniforms (incoherent choice, excitation of the two
    nuclei, detection on the two sides)."""

    p1: np.ndarray
    p2: np.ndarray
    q1: np.ndarray
    q2: np.ndarray
    b: np.ndarray
    Z: int
    A: int
    sqrt_snn: float
    daughter_mass: float
    smear_seeds: tuple[int, int]
    u: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.b.size)


@dataclass(frozen=True)
class Measured:
    """Selected events: measured daughter four-momenta r1, r2 (M, 4) GeV and the measured
    neutron class of each (M,), for the M events inside the acceptance."""

    r1: np.ndarray
    r2: np.ndarray
    classes: np.ndarray

    def __len__(self) -> int:
        return int(self.classes.size)

    def of_class(self, neutron_class: str) -> Measured:
        """The events of one measured neutron class ('any': all)."""
        if neutron_class == "any":
            return self
        keep = self.classes == neutron_class
        return Measured(self.r1[keep], self.r2[keep], self.classes[keep])

    def first(self, n: int) -> Measured:
        """The first ``n`` events (a finite-statistics sample; all if fewer)."""
        return Measured(self.r1[:n], self.r2[:n], self.classes[:n])

    def rest(self, n: int) -> Measured:
        """The events after the first ``n`` (independent of :meth:`first`)."""
        return Measured(self.r1[n:], self.r2[n:], self.classes[n:])


def sampler(nucleus: Nucleus, production: Production) -> EventSampler:
    """The engine's event sampler of ``nucleus`` (set-up: ~1 s per rapidity node)."""
    from upclens.physics.production import EventSampler
    from upclens.physics.settings import ModelSwitches

    switches = production.switches or ModelSwitches(polarization="vector")
    return EventSampler(nucleus, meson=production.meson, sqrt_snn=production.sqrt_snn,
                        rapidity=production.rapidity, pt_max=production.pt_max,
                        switches=replace(switches, polarization="vector"))


def simulate(nucleus: Nucleus, n: int, seed: int, production: Production = Production(),
             event_sampler: EventSampler | None = None, stream: int = 0) -> RawEvents:
    """``n`` collisions of ``nucleus`` from ``seed`` and ``stream`` (reproducible; another
    stream is an independent sample), with the random numbers of every selection;
    ``event_sampler``: a prepared :func:`sampler` of the same nucleus."""
    from upclens.physics.decays import decay_mesons, pdg_mass
    from upclens.physics.incoherent import background_table, sample_background

    n = int(check_range("n", n, 1, 1e9))
    streams = np.random.SeedSequence([seed, stream]).spawn(5)
    prod, dec, inc, uni, sm = (np.random.default_rng(s) for s in streams)
    s = event_sampler or sampler(nucleus, production)
    batch = s.sample(n, prod)
    d = decay_mesons(batch.px, batch.py, batch.rapidity, batch.mass, batch.rho,
                     batch.pdg_id, production.channel, dec)
    px, py = sample_background(n, inc, *background_table(nucleus, production.sqrt_snn,
                                                         production.pt_max))
    e = np.stack([np.cos(batch.b_phi), np.sin(batch.b_phi)], axis=1)
    rho_b = (e[:, :, None] * e[:, None, :]).astype(complex)
    q = decay_mesons(px, py, batch.rapidity, batch.mass, rho_b, batch.pdg_id,
                     production.channel, dec)
    smear_seeds = tuple(int(v) for v in sm.integers(0, 2**63 - 1, size=2))
    f32 = np.float32  # storage: 1e-7 relative, far below any resolution; selections use doubles
    return RawEvents(p1=d.p1.astype(f32), p2=d.p2.astype(f32), q1=q.p1.astype(f32),
                     q2=q.p2.astype(f32), b=np.asarray(batch.b, float),
                     Z=nucleus.Z, A=nucleus.A, sqrt_snn=production.sqrt_snn,
                     daughter_mass=pdg_mass(abs(d.pdg_ids[0])),
                     smear_seeds=(smear_seeds[0], smear_seeds[1]),
                     u=uni.random((n, 5)).astype(f32))


def neutron_classes(raw: RawEvents, flux_scale: float = 1.0, efficiency: float = 1.0
                    ) -> np.ndarray:
    """(N,) measured neutron class of each event: each nucleus excited with probability
    1 - exp(-flux_scale m(b)), its neutrons seen with ``efficiency``."""
    from upclens.physics.neutrons import mean_excitations

    m = flux_scale * mean_excitations(raw.b, Z=raw.Z, A=raw.A, sqrt_snn=raw.sqrt_snn)
    p_x = -np.expm1(-m)
    seen = (raw.u[:, 1:3] < p_x[:, None]) & (raw.u[:, 3:5] < efficiency)
    return np.asarray(CLASSES, dtype=object)[seen.sum(axis=1)]


def select(raw: RawEvents, selection: Selection = Selection()) -> Measured:
    """The events of ``raw`` that ``selection`` keeps, as it measures them."""
    from upclens.physics.detector import accepted, detector, smear

    det = detector(selection.detector)
    cuts: dict[str, float] = {}
    if selection.eta_max is not None:
        cuts.update(eta_min=-selection.eta_max, eta_max=selection.eta_max)
    if selection.pt_min is not None:
        cuts["pt_min"] = selection.pt_min
    if selection.res_scale != 1.0:
        cuts.update(res_const=det.res_const * selection.res_scale,
                    res_slope=det.res_slope * selection.res_scale)
    if cuts:
        det = detector(selection.detector, **cuts)
    incoherent = raw.u[:, 0] < selection.incoherent_fraction
    p1 = np.where(incoherent[:, None], raw.q1, raw.p1).astype(float)
    p2 = np.where(incoherent[:, None], raw.q2, raw.p2).astype(float)
    r1 = smear(det, p1, raw.daughter_mass, np.random.default_rng(raw.smear_seeds[0]))
    r2 = smear(det, p2, raw.daughter_mass, np.random.default_rng(raw.smear_seeds[1]))
    keep = accepted(det, r1, r2)
    classes = neutron_classes(raw, selection.flux_scale, selection.zdc_efficiency)
    return Measured(r1[keep], r2[keep], classes[keep])


@dataclass(frozen=True)
class Observables:
    """The event observables of one sample on pair-pT edges (GeV): <cos 2 Delta phi>,
    <cos 4 Delta phi> and the normalised pT spectrum (GeV^-1), each with its statistical error,
    and the number of events."""

    cos2: Binned
    cos4: Binned
    spectrum: Binned
    n: int


def observables(sample: Measured, edges: np.ndarray | list[float]) -> Observables:
    """cos 2, cos 4 (Delta phi) and the pT spectrum of ``sample`` on ``edges``."""
    if len(sample) == 0:
        raise ParameterError("events", 0, "no event passes the selection")
    return Observables(cos2=cos_n_delta_phi(sample.r1, sample.r2, edges, 2),
                       cos4=cos_n_delta_phi(sample.r1, sample.r2, edges, 4),
                       spectrum=pt_spectrum(pair_pt(sample.r1, sample.r2), edges),
                       n=len(sample))


def class_fractions(sample: Measured) -> dict[str, float]:
    """Share of the sample in each measured neutron class."""
    n = max(len(sample), 1)
    return {c: float(np.sum(sample.classes == c)) / n for c in CLASSES}


def binned_dict(b: Binned) -> dict[str, list[float | None]]:
    """Plain form of a Binned (NaN as None), for JSON and the report."""
    def plain(a: np.ndarray) -> list[float | None]:
        return [None if not math.isfinite(float(v)) else float(v) for v in a]

    return {"edges": plain(b.edges), "value": plain(b.value), "error": plain(b.error),
            "counts": plain(b.counts)}
