"""One translation of a config: every physics and image field of a dataset config reaches the
engine settings, the information limit's settings and the images the generator draws."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from upclens.data import load_config
from upclens.data.config import ImageConfig, PhysicsConfig
from upclens.data.engine import engine_settings
from upclens.data.simulate import simulate_item
from upclens.information import InformationSettings

PHYSICS = {"nucleus": "Ru96", "sqrt_snn": 5020.0, "rapidity": 1.0, "b": 20.0,
           "b_magnitude": "upc", "b_direction": "random", "glauber": False, "flux": "uniform",
           "polarization": "vector", "qz": True, "sigma_vn_scale": 1.3, "skin_type": "skin"}
IMAGE = {"pixels": 8, "pmax": 0.3, "orientations": 2, "n_events": 50, "poisson_events": True,
         "incoherent_fraction": 0.1, "smearing": 0.005}

# Where each config field lands in the engine's objects (nucleus, collision, switches, grid).
PHYSICS_PATHS = {"nucleus": ("nucleus", "name"), "sqrt_snn": ("collision", "sqrt_snn"),
                 "rapidity": ("collision", "rapidity"), "b": ("collision", "b"),
                 "b_magnitude": ("collision", "b_magnitude"),
                 "b_direction": ("collision", "b_direction"),
                 "glauber": ("switches", "glauber"), "flux": ("switches", "flux"),
                 "polarization": ("switches", "polarization"),
                 "qz": ("switches", "coherence_phase"),
                 "sigma_vn_scale": ("switches", "sigma_vn_scale"),
                 "skin_type": ("nucleus", "skin_type")}


def all_fields_config():
    overrides = {f"physics.{k}": v for k, v in PHYSICS.items()}
    overrides.update({f"image.{k}": v for k, v in IMAGE.items()})
    return load_config(None, overrides)


def test_the_test_sets_every_field_to_a_non_default_value():
    assert set(PHYSICS) == {f.name for f in dataclasses.fields(PhysicsConfig)} == set(
        PHYSICS_PATHS)
    assert set(IMAGE) == {f.name for f in dataclasses.fields(ImageConfig)}
    for cls, values in ((PhysicsConfig, PHYSICS), (ImageConfig, IMAGE)):
        default = cls()
        for name, value in values.items():
            assert getattr(default, name) != value, name


def test_every_physics_field_reaches_the_information_settings():
    cfg = all_fields_config()
    info = InformationSettings.from_config(cfg)
    objects = {"collision": info.collision, "switches": info.switches}
    for name, (where, attr) in PHYSICS_PATHS.items():
        if where == "nucleus":
            got = info.nucleus if attr == "name" else getattr(info, attr)
        else:
            got = getattr(objects[where], attr)
        assert got == PHYSICS[name], name
    assert info.grid.pixels == IMAGE["pixels"]
    assert info.grid.pmax == IMAGE["pmax"]
    assert (info.incoherent_fraction, info.smearing) == (0.1, 0.005)


def test_a_study_at_y_1_records_y_1():
    cfg = load_config(None, {"physics.rapidity": 1.0})
    assert InformationSettings.from_config(cfg).collision.rapidity == 1.0
    assert engine_settings(cfg).collision.rapidity == 1.0


def test_every_field_reaches_the_images(monkeypatch):
    """The generator's one item is made by the engine objects of the config: spy on the
    double slit and on the event sampler while it renders."""
    import upclens.physics.events as events
    import upclens.physics.image as image

    seen: dict[str, object] = {}

    class Spy(image.DoubleSlit):
        def __init__(self, nucleus, collision, switches, grid, numerics=None):
            seen.update(nucleus=nucleus, collision=collision, switches=switches, grid=grid)
            super().__init__(nucleus, collision, switches, grid, numerics)

        def image(self, orientations=None, seed=None, method="auto"):
            seen["orientations"] = orientations
            return super().image(orientations, seed, method)

    real_events = events.event_image

    def spy_events(prob, grid, n, rng, fraction, smearing, profile, poisson=False):
        seen.update(n_events=n, incoherent_fraction=fraction, smearing=smearing,
                    poisson_events=poisson, profile=profile)
        return real_events(prob, grid, n, rng, fraction, smearing, profile, poisson=poisson)

    monkeypatch.setattr(image, "DoubleSlit", Spy)
    monkeypatch.setattr(events, "event_image", spy_events)
    cfg = all_fields_config()
    picture, _ = simulate_item(cfg, seed=3, index=0)
    assert picture.shape == (8, 8)
    for name, (where, attr) in PHYSICS_PATHS.items():
        assert getattr(seen[where], attr) == PHYSICS[name], name
    assert (seen["grid"].pixels, seen["grid"].pmax) == (8, 0.3)
    assert seen["orientations"] == 2
    for name in ("n_events", "incoherent_fraction", "smearing", "poisson_events"):
        assert seen[name] == IMAGE[name], name
    assert seen["profile"].nucleus == seen["nucleus"]


@pytest.mark.parametrize("labels", [{}, {"b": 18.0, "sigma_vn_scale": 0.8}])
def test_nuisance_labels_of_an_item_replace_the_config_values(labels):
    cfg = load_config(None, {})
    eng = engine_settings(cfg, labels)
    assert eng.collision.b == labels.get("b", cfg.physics.b)
    assert eng.switches.sigma_vn_scale == labels.get("sigma_vn_scale", 1.0)
    nucleus = eng.nucleus_at({"beta2": 0.1, "beta3": 0.2, "delta_rnp": 0.1, "R": 5.1})
    assert (nucleus.beta2, nucleus.beta3, nucleus.delta_rnp, nucleus.R) == (0.1, 0.2, 0.1, 5.1)
    assert np.isclose(nucleus.a, 0.46)
