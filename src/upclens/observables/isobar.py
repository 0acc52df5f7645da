"""The isobar measurement: 96Ru+96Ru against 96Zr+96Zr from the decay events STAR records.

The two species' literature structure (:data:`SPECIES`; sources and the choices in
docs/physics.md, section "Isobars"), STAR's selections, the Ru/Zr ratios of the pT spectrum
and of <cos 2 Delta phi> versus pair pT with their statistical errors, and the shift of each
ratio when one systematic effect is changed in both species together (:data:`SYSTEMATICS`),
measured on the same events (common random numbers) so that the shift is the effect's alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from upclens.observables.events import Binned, spectrum_ratio
from upclens.observables.eventstudy import Selection

if TYPE_CHECKING:
    from upclens.physics.nucleus import Nucleus


@dataclass(frozen=True)
class Species:
    """One isobar as the study uses it: preset (Z, A, Woods-Saxon R and a of the protons),
    beta2, beta3, Delta r_np (fm) and how the skin is made (halo: the neutrons' diffuseness)."""

    name: str
    beta2: float
    beta3: float
    delta_rnp: float
    skin_type: str = "halo"

    def nucleus(self) -> Nucleus:
        """The engine's nucleus."""
        from upclens.physics.nucleus import Nucleus

        return Nucleus.from_preset(self.name, beta2=self.beta2, beta3=self.beta3,
                                   delta_rnp=self.delta_rnp, skin_type=self.skin_type)


SPECIES: dict[str, Species] = {
    # beta2 0.158: TALYS/RIPL 0.1579; beta3 0: no octupole entry (Zhang & Jia take 0);
    # Delta r_np 0.06 fm: our choice in the range of density-functional values (thin skin).
    "Ru": Species("Ru96", beta2=0.158, beta3=0.0, delta_rnp=0.06),
    # beta2 0.06, beta3 0.20: Zhang & Jia's fit to STAR's flow ratios (TALYS/RIPL: 0.080 and
    # 0.184); Delta r_np 0.16 fm, halo type: our choice, thicker than Ru's as DFT predicts.
    "Zr": Species("Zr96", beta2=0.06, beta3=0.20, delta_rnp=0.16),
}

STAR = Selection(detector="star")
"""STAR's acceptance (|eta| < 1, daughter pT > 0.2 GeV) and momentum resolution."""

NEUTRON_SELECTIONS = ("XnXn", "0nXn")
"""The forward-neutron classes the ratios are shown for."""

ISOBAR_PT_EDGES = (0.0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.16, 0.2, 0.3)
"""Pair-pT bins (GeV) of the isobar ratios."""


@dataclass(frozen=True)
class Systematic:
    """One systematic effect: its name in words, how it is varied (words) and the changed
    selection (None: the variation is of the production, ``sigma_vn_scale``)."""

    name: str
    variation: str
    selection: Selection | None = None
    sigma_vn_scale: float = 1.0


SYSTEMATICS: tuple[Systematic, ...] = (
    Systematic("photon-flux normalisation", "flux x 1.10 (meson yield and Coulomb excitation)",
               Selection(detector="star", flux_scale=1.10)),
    Systematic("sigma_J/psiN scale", "sigma_J/psiN x 1.20", None, sigma_vn_scale=1.20),
    Systematic("momentum resolution", "STAR resolution x 1.5",
               Selection(detector="star", res_scale=1.5)),
    Systematic("acceptance edge in eta", "|eta| < 0.9 instead of 1",
               Selection(detector="star", eta_max=0.9)),
    Systematic("daughter pT cut", "pT > 0.25 GeV instead of 0.2",
               Selection(detector="star", pt_min=0.25)),
    Systematic("incoherent fraction", "10 % incoherent events instead of none",
               Selection(detector="star", incoherent_fraction=0.10)),
    Systematic("neutron-class efficiency", "each side's neutrons seen with 90 % instead of 100 %",
               Selection(detector="star", zdc_efficiency=0.90)),
)


def cos_ratio(a: Binned, b: Binned) -> Binned:
    """Ratio a/b of two independent <cos n Delta phi> curves per bin, with the propagated error
    |r| sqrt((sigma_a/a)^2 + (sigma_b/b)^2)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = a.value / b.value
        err = np.abs(r) * np.hypot(a.error / a.value, b.error / b.value)
    return Binned(a.edges, a.centres, r, err, a.counts + b.counts)


def cos_difference(a: Binned, b: Binned) -> Binned:
    """Difference a - b of two independent <cos n Delta phi> curves, errors in quadrature."""
    return Binned(a.edges, a.centres, a.value - b.value, np.hypot(a.error, b.error),
                  a.counts + b.counts)


def ratios(ru: dict[str, Binned], zr: dict[str, Binned]) -> dict[str, Binned]:
    """Ru/Zr ratios of the spectrum and of <cos 2 Delta phi>, and the cos 2 difference, of the
    observables {'spectrum', 'cos2'} of the two species."""
    return {"spectrum": spectrum_ratio(ru["spectrum"], zr["spectrum"]),
            "cos2": cos_ratio(ru["cos2"], zr["cos2"]),
            "cos2_difference": cos_difference(ru["cos2"], zr["cos2"])}


def shift_in_errors(nominal: Binned, varied: Binned, error: np.ndarray,
                    pt_max: float = 0.2) -> float:
    """Root-mean-square over the bins below ``pt_max`` (GeV) of the shift (varied - nominal)
    in units of ``error`` (the statistical error at STAR-like counts); NaN bins are skipped."""
    shift = (varied.value - nominal.value) / error
    inside = (nominal.edges[1:] <= pt_max + 1e-12) & np.isfinite(shift)
    if not np.any(inside):
        return float("nan")
    return float(np.sqrt(np.mean(shift[inside] ** 2)))
