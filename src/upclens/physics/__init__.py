"""The physics engine: deformed Woods-Saxon nuclei, quantum-Glauber amplitudes, the photon flux,
two-source (double-slit) J/psi images, finite events with background and smearing, the
coherent |t| spectrum, incoherent production (Good-Walker) and forward-neutron classes.
Plain NumPy/SciPy; each name is imported from its module on first use, so importing one module
(e.g. ``upclens.physics.settings``) stays light."""

from __future__ import annotations

from typing import TYPE_CHECKING

from upclens.lazy import lazy_attributes

if TYPE_CHECKING:
    from upclens.physics.events import (
        event_image,
        expected_image,
        fold_background_smearing,
        incoherent_image,
        sample_events,
    )
    from upclens.physics.image import DoubleSlit, Image, simulate_image
    from upclens.physics.incoherent import GoodWalker, IncoherentSettings
    from upclens.physics.neutrons import class_probability
    from upclens.physics.nucleus import DensityProfile, Nucleus, density_profile
    from upclens.physics.numerics import Numerics
    from upclens.physics.presets import preset
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches
    from upclens.physics.tspectrum import coherent_tspectrum

__all__ = [
    "Collision",
    "DensityProfile",
    "DoubleSlit",
    "GoodWalker",
    "Image",
    "ImageGrid",
    "IncoherentSettings",
    "ModelSwitches",
    "Nucleus",
    "Numerics",
    "class_probability",
    "coherent_tspectrum",
    "density_profile",
    "event_image",
    "expected_image",
    "fold_background_smearing",
    "incoherent_image",
    "preset",
    "sample_events",
    "simulate_image",
]

_LAZY = {
    "Collision": "upclens.physics.settings",
    "ImageGrid": "upclens.physics.settings",
    "ModelSwitches": "upclens.physics.settings",
    "Numerics": "upclens.physics.numerics",
    "Nucleus": "upclens.physics.nucleus",
    "DensityProfile": "upclens.physics.nucleus",
    "density_profile": "upclens.physics.nucleus",
    "preset": "upclens.physics.presets",
    "DoubleSlit": "upclens.physics.image",
    "Image": "upclens.physics.image",
    "simulate_image": "upclens.physics.image",
    "event_image": "upclens.physics.events",
    "expected_image": "upclens.physics.events",
    "fold_background_smearing": "upclens.physics.events",
    "incoherent_image": "upclens.physics.events",
    "sample_events": "upclens.physics.events",
    "coherent_tspectrum": "upclens.physics.tspectrum",
    "GoodWalker": "upclens.physics.incoherent",
    "IncoherentSettings": "upclens.physics.incoherent",
    "class_probability": "upclens.physics.neutrons",
}

__getattr__ = lazy_attributes(__name__, _LAZY)
