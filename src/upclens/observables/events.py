"""Observables of decay events: the cos n(Delta phi) modulation versus pair pT, pT spectra per
forward-neutron class, and the ratio of two nuclei's spectra, each with its statistical error.

Delta phi is the azimuth between the pair transverse momentum p1 + p2 and the relative
transverse momentum p1 - p2 (daughter 1 is the positive one).  Exchanging the daughters turns
p1 - p2 into its opposite, so every even harmonic is symmetric in the daughters; at pair pT much
below the daughter pT, p1 - p2 points along daughter 1 (``reference='positive'`` uses daughter
1's own pT instead).  Inputs are (N, 4) four-momenta (E, px, py, pz) in GeV.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from upclens.errors import ParameterError, check_choice

REFERENCES = ("difference", "positive")


@dataclass(frozen=True)
class Binned:
    """A quantity per pT bin: edges (B+1,) GeV, centres (B,), value (B,), error (B,) (one
    standard deviation), counts (B,) events."""

    edges: np.ndarray
    centres: np.ndarray
    value: np.ndarray
    error: np.ndarray
    counts: np.ndarray


def pair_pt(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """|p1 + p2|_T (N,) in GeV."""
    return np.hypot(p1[:, 1] + p2[:, 1], p1[:, 2] + p2[:, 2])


def delta_phi(p1: np.ndarray, p2: np.ndarray, reference: str = "difference") -> np.ndarray:
    """(N,) azimuth (rad, in (-pi, pi]) of the pair pT relative to the reference vector:
    p1 - p2 ('difference') or daughter 1's pT ('positive')."""
    check_choice("reference", reference, REFERENCES)
    pair = np.arctan2(p1[:, 2] + p2[:, 2], p1[:, 1] + p2[:, 1])
    if reference == "difference":
        ref = np.arctan2(p1[:, 2] - p2[:, 2], p1[:, 1] - p2[:, 1])
    else:
        ref = np.arctan2(p1[:, 2], p1[:, 1])
    return np.angle(np.exp(1j * (pair - ref)))


def _edges(edges: np.ndarray | list[float]) -> np.ndarray:
    e = np.asarray(edges, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0) or e[0] < 0:
        raise ParameterError("pt edges", e.tolist(), "must be >= 2 increasing values >= 0 GeV")
    return e


def cos_n_delta_phi(p1: np.ndarray, p2: np.ndarray, edges: np.ndarray | list[float],
                    n: int = 2, reference: str = "difference") -> Binned:
    """<cos n Delta phi> per pair-pT bin with its standard error (sample standard deviation /
    sqrt(count)); NaN in bins with fewer than 2 events.  The modulation amplitude of
    dN/dDelta phi ~ 1 + 2 <cos n Delta phi> cos n Delta phi is twice the value."""
    e = _edges(edges)
    pt = pair_pt(p1, p2)
    c = np.cos(n * delta_phi(p1, p2, reference))
    idx = np.digitize(pt, e) - 1
    ok = (idx >= 0) & (idx < e.size - 1)
    counts = np.bincount(idx[ok], minlength=e.size - 1).astype(float)
    s1 = np.bincount(idx[ok], weights=c[ok], minlength=e.size - 1)
    s2 = np.bincount(idx[ok], weights=c[ok] ** 2, minlength=e.size - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / counts
        var = (s2 - counts * mean**2) / (counts - 1)
        err = np.sqrt(np.maximum(var, 0.0) / counts)
    few = counts < 2
    mean[few], err[few] = np.nan, np.nan
    return Binned(e, 0.5 * (e[1:] + e[:-1]), mean, err, counts)


def pt_spectrum(pt: np.ndarray, edges: np.ndarray | list[float]) -> Binned:
    """dN/dpT per event (GeV^-1, normalised to the events inside the edges) with the
    multinomial error sqrt(p (1 - p) / N) / width of each bin's share p."""
    e = _edges(edges)
    counts = np.histogram(pt, bins=e)[0].astype(float)
    total = counts.sum()
    width = np.diff(e)
    if total == 0:
        nan = np.full(counts.shape, np.nan)
        return Binned(e, 0.5 * (e[1:] + e[:-1]), nan, nan, counts)
    share = counts / total
    return Binned(e, 0.5 * (e[1:] + e[:-1]), share / width,
                  np.sqrt(share * (1 - share) / total) / width, counts)


def spectra_by_class(pt: np.ndarray, classes: np.ndarray, edges: np.ndarray | list[float]
                     ) -> dict[str, Binned]:
    """pt_spectrum of the events of each neutron class found in ``classes``."""
    classes = np.asarray(classes).astype(str)
    return {c: pt_spectrum(pt[classes == c], edges) for c in sorted(set(classes.tolist()))}


def spectrum_ratio(a: Binned, b: Binned) -> Binned:
    """Ratio of two normalised spectra (e.g. Ru/Zr) on the same edges, with the error of two
    independent multinomial samples: (sigma_r / r)^2 = (1/n_a - 1/N_a) + (1/n_b - 1/N_b)."""
    if a.edges.shape != b.edges.shape or not np.allclose(a.edges, b.edges):
        raise ParameterError("edges", b.edges.tolist(), "must equal those of the numerator")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = a.value / b.value
        rel2 = (1 / a.counts - 1 / a.counts.sum()) + (1 / b.counts - 1 / b.counts.sum())
        err = np.abs(r) * np.sqrt(np.maximum(rel2, 0.0))
    empty = (a.counts == 0) | (b.counts == 0)
    r[empty], err[empty] = np.nan, np.nan
    return Binned(a.edges, a.centres, r, err, a.counts + b.counts)


def cos2_study(meson: str, channel: str, edges: np.ndarray | list[float], *,
               nucleus: str = "Au197", sqrt_snn: float = 200.0, rapidity: float = 0.0,
               n: int = 300_000, seed: int = 1, detector: str = "star") -> dict[str, Binned]:
    """<cos 2 Delta phi> versus pair pT of ``n`` events at one rapidity: generator level
    ('all'), the events inside ``detector``'s acceptance with true momenta, and with the
    measured (smeared) momenta."""
    from upclens.physics.decays import decay, pdg_mass
    from upclens.physics.detector import accepted, smear
    from upclens.physics.detector import detector as make_detector
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.production import EventSampler

    rng = np.random.default_rng(seed)
    sampler = EventSampler(Nucleus.from_preset(nucleus), meson=meson, sqrt_snn=sqrt_snn,
                           rapidity=(rapidity, rapidity))
    d = decay(sampler.sample(n, rng), channel, rng)
    det = make_detector(detector)
    m_d = pdg_mass(abs(d.pdg_ids[0]))
    r1, r2 = smear(det, d.p1, m_d, rng), smear(det, d.p2, m_d, rng)
    keep = accepted(det, r1, r2)
    return {"all": cos_n_delta_phi(d.p1, d.p2, edges),
            f"{det.name} acceptance": cos_n_delta_phi(d.p1[keep], d.p2[keep], edges),
            f"{det.name} acceptance + resolution": cos_n_delta_phi(r1[keep], r2[keep], edges)}
