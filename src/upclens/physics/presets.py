"""Nuclear presets: charge, mass number, matter Woods-Saxon parameters and deformations.

Values follow ../shared/physics-model.md section 2 (STARlight, IP-Glasma, TGlauberMC); each is
overridable when a Nucleus is built.  R and a (fm) are the matter values, which are also the
proton values when a neutron skin is added.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Preset:
    """Tabulated properties of one nucleus (R, a in fm)."""

    name: str
    Z: int
    A: int
    R: float
    a: float
    beta2: float = 0.0
    beta3: float = 0.0
    beta4: float = 0.0
    source: str = ""


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("Zr96", 40, 96, 5.02, 0.46, 0.06, 0.20, 0.0,
               "R, a: STARlight/IP-Glasma; beta2, beta3: Zhang & Jia, PRL 128 (2022) 022301"),
        Preset("Ru96", 44, 96, 5.085, 0.46, 0.158, 0.0, 0.0, "IP-Glasma / STARlight"),
        Preset("Au197", 79, 197, 6.38, 0.535, -0.131, 0.0, -0.031, "TGlauberMC v3.2 'Au2'"),
        Preset("Pb208", 82, 208, 6.62, 0.546, 0.0, 0.0, 0.0, "TGlauberMC v3.2 / IP-Glasma"),
        Preset("U238", 92, 238, 6.81, 0.55, 0.28, 0.0, 0.093, "IP-Glasma"),
    )
}


def preset(name: str) -> Preset:
    """Return the preset called ``name`` (case-insensitive), or raise ParameterError."""
    from upclens.errors import ParameterError

    for key, value in PRESETS.items():
        if key.lower() == str(name).lower():
            return value
    raise ParameterError("nucleus", name, "must be one of " + ", ".join(PRESETS))
