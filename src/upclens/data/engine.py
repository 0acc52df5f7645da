"""The one translation of a dataset config into the physics engine's settings.

Generation, the information limit, the realism ladder and the main job all read a
:class:`~upclens.data.config.DatasetConfig` through :func:`engine_settings`, so a physics field
set in the config (the rapidity, the flux, the |b| mode, ...) reaches every engine the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from upclens.data.config import DatasetConfig

if TYPE_CHECKING:
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches


@dataclass(frozen=True)
class EngineSettings:
    """What the physics engine makes of a config, apart from the labels of one image.

    nucleus: preset name; skin_type: how Delta r_np is made ('halo' | 'skin').  collision,
    switches, grid: the engine's settings objects.  orientations: orientation pairs per image
    (None: the exact average).  n_events: J/psi per image (0: the expectation itself), Poisson
    distributed when ``poisson_events``.  incoherent_fraction: incoherent share of the events;
    smearing: Gaussian pT resolution (GeV).
    """

    nucleus: str
    skin_type: str
    collision: Collision
    switches: ModelSwitches
    grid: ImageGrid
    orientations: int | None
    n_events: int
    poisson_events: bool
    incoherent_fraction: float
    smearing: float

    def nucleus_at(self, labels: Mapping[str, float]) -> Nucleus:
        """The nucleus of one image: beta2, beta3, delta_rnp (fm) and, when drawn, the protons'
        R and a (fm) from ``labels``."""
        from upclens.physics.nucleus import Nucleus

        return Nucleus.from_preset(self.nucleus, beta2=labels["beta2"], beta3=labels["beta3"],
                                   delta_rnp=labels["delta_rnp"], skin_type=self.skin_type,
                                   R=labels.get("R"), a=labels.get("a"))


def engine_settings(cfg: DatasetConfig,
                    labels: Mapping[str, float] | None = None) -> EngineSettings:
    """The engine settings of ``cfg``; the nuisance labels of one item (b in fm,
    sigma_vn_scale) replace the config's values when given."""
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

    ph, im = cfg.physics, cfg.image
    labels = labels or {}
    collision = Collision(sqrt_snn=ph.sqrt_snn, rapidity=ph.rapidity,
                          b=labels.get("b", ph.b), b_magnitude=ph.b_magnitude,
                          b_direction=ph.b_direction)
    switches = ModelSwitches(glauber=ph.glauber, flux=ph.flux, polarization=ph.polarization,
                             coherence_phase=ph.qz,
                             sigma_vn_scale=labels.get("sigma_vn_scale", ph.sigma_vn_scale))
    orientations = None if im.orientations == "exact" else int(im.orientations)
    return EngineSettings(nucleus=ph.nucleus, skin_type=ph.skin_type, collision=collision,
                          switches=switches, grid=ImageGrid(im.pixels, im.pmax),
                          orientations=orientations, n_events=im.n_events,
                          poisson_events=im.poisson_events,
                          incoherent_fraction=im.incoherent_fraction, smearing=im.smearing)
