"""The headline number: smallest N_J/psi for a target precision, against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.information import InformationSettings
from upclens.information.fisher import FisherResult
from upclens.information.headline import (
    conditions,
    headline_markdown,
    headline_table,
    plot_headline,
    sigma_at,
    smallest_n,
)
from upclens.physics.settings import ImageGrid


def _result(per_event: np.ndarray, names: list[str], priors: dict[str, float]) -> FisherResult:
    return FisherResult(names=names, matrix=per_event, per_event=per_event, n_events=1.0,
                        point=dict.fromkeys(names, 0.1), priors=priors,
                        likelihood="multinomial", sigma_crb={}, steps={},
                        step_change=dict.fromkeys(names, 0.0), notes=[])


def test_without_priors_the_smallest_n_is_the_one_over_sqrt_n_law():
    """sigma(N) = sigma_1 / sqrt(N): N = (sigma_1 / target)^2 exactly."""
    per_event = np.array([[4.0, 1.0], [1.0, 2.0]])
    res = _result(per_event, ["delta_rnp", "beta2"], {})
    sigma_1 = math.sqrt(np.linalg.inv(per_event)[0, 0])
    assert smallest_n(res, 0.01) == pytest.approx((sigma_1 / 0.01) ** 2, rel=1e-5)


def test_a_degenerate_nuisance_sets_a_floor():
    """The image sees theta + nu only, nu has a prior of width w: sigma_theta^2 = w^2 + 1/N,
    so N = 1 / (t^2 - w^2) above the floor w and never below it."""
    w = 0.03
    res = _result(np.ones((2, 2)), ["delta_rnp", "R"], {"R": w})
    for t in (0.05, 0.031):
        n = smallest_n(res, t)
        assert n == pytest.approx(1.0 / (t * t - w * w), rel=1e-5)
        assert sigma_at(res, n) == pytest.approx(t, rel=1e-5)
    assert smallest_n(res, 0.029) == math.inf
    # With the nuisance known the degeneracy is gone: 1/sqrt(N) again.
    assert smallest_n(res, 0.05, known=["R"]) == pytest.approx(1.0 / 0.05**2, rel=1e-5)
    with pytest.raises(ParameterError, match="target"):
        smallest_n(res, 0.0)
    with pytest.raises(ParameterError, match="parameter"):
        smallest_n(res, 0.05, parameter="beta9")


def test_conditions_change_only_direction_and_background():
    base = InformationSettings()
    c = conditions(base)
    assert c["fixed b direction"] == base
    assert c["random b direction"].collision.b_direction == "random"
    assert c["random b direction, background"].incoherent_fraction == 0.1
    assert c["fixed b direction, background"].smearing == 0.01
    assert c["fixed b direction, background"].collision == base.collision


def test_headline_table_on_physics_images(tmp_path):
    """On 16x16 images: each N meets the target exactly, the bound without priors scales as
    1/sqrt(N) from the reference N, and priors, background and a random b direction can only
    raise the N needed (they remove information)."""
    small = InformationSettings(grid=ImageGrid(16, 0.2))
    table = headline_table({"beta2": 0.15, "beta3": 0.15, "delta_rnp": 0.1}, small,
                           target=0.05)
    rows = {r["condition"]: r for r in table["rows"]}
    for r in rows.values():
        assert r["n_known"] == pytest.approx(
            table["n_reference"] * (r["sigma_known"] / 0.05) ** 2, rel=1e-4)
        assert r["n_known"] < r["n_priors"]
        assert r["sigma_priors_large"] < r["sigma_priors"]
    fixed = rows["fixed b direction"]
    for name in ("fixed b direction, background", "random b direction, background"):
        assert rows[name]["n_known"] > fixed["n_known"]
        assert rows[name]["n_priors"] > fixed["n_priors"]
    assert rows["random b direction, background"]["n_known"] > rows["random b direction"][
        "n_known"]
    text = headline_markdown(table)
    assert text.count("\n| ") == 5
    assert "never" not in text
    plot_headline(table, str(tmp_path / "h.png"))
    assert (tmp_path / "h.png").stat().st_size > 10_000
