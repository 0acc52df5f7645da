"""Edge and fringe regions of analytic double-slit images, and attribution shares."""

from __future__ import annotations

import math

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.explain.regions import envelope, region_masks, region_shares

PIXELS, PMAX = 64, 0.2
STEP = 2 * PMAX / PIXELS
AXIS = (np.arange(PIXELS) + 0.5 - PIXELS / 2) * STEP
PX, PY = np.meshgrid(AXIS, AXIS)
PT = np.hypot(PX, PY)
S = 0.08                          # Gaussian spot width (GeV)
B_OVER_HC = 15.0 / 0.1973         # b / hbar c (GeV^-1)


def _sphere() -> np.ndarray:
    """4 |F|^2 sin^2(p_x b / 2) with |F|^2 = exp(-p^2 / s^2): dark fringes at p_x b = 2 pi n."""
    return 4 * np.exp(-(PT**2) / S**2) * np.sin(PX * B_OVER_HC / 2) ** 2


def test_envelope_of_a_sphere_is_the_form_factor():
    """Each one-pixel ring holds a pixel near a bright fringe crest (|sin| = 1 within a pixel
    step of phase (0.5 x 0.00625 x 76 = 0.24 rad): sin^2 >= 0.94) once pT passes the first crest
    (pT > pi / b = 0.041 GeV).  E of a pixel is then 4 exp(-q^2/s^2) x (0.94 ... 1) for a q in
    its own ring or further out (q > pT - dp), and the crest nearest in pT lies within 1.5 dp:
    so E / (4 exp(-pT^2/s^2)) is between 0.94 exp(-((pT + 1.5 dp)^2 - pT^2)/s^2) and
    exp((pT^2 - (pT - dp)^2)/s^2)."""
    env = envelope(_sphere(), AXIS, AXIS)
    form = 4 * np.exp(-(PT**2) / S**2)
    sel = (PT > 0.05) & (PT < 0.15)
    ratio = env[sel] / form[sel]
    pt = PT[sel]
    assert np.all(ratio <= np.exp((pt**2 - (pt - STEP) ** 2) / S**2) + 1e-12)
    assert np.all(ratio >= 0.94 * np.exp(-((pt + 1.5 * STEP) ** 2 - pt**2) / S**2))
    assert np.all(np.diff(np.unique(env)[::-1]) < 0)              # decreasing outwards
    assert env.max() == pytest.approx(_sphere().max())


def test_regions_of_a_sphere_sit_where_the_definitions_put_them():
    """Edge: 0.2 <= E / max I <= 0.8.  The centre is dark, so max I = 4 exp(-q^2/s^2) at the
    first crest q ~ 0.041 GeV, and the edge is 4 exp(-pT^2/s^2) = level x max I, i.e. pT =
    s sqrt(ln(4 / (level max I))) (within a ring width and the crest sampling, 1.5 pixels).
    Fringes: the dark lines p_x b = 2 pi n."""
    reg = region_masks(_sphere(), AXIS, AXIS, edge_low=0.2, edge_high=0.8)
    top = _sphere().max()
    lo, hi = (S * math.sqrt(math.log(4 / (level * top))) for level in (0.8, 0.2))
    margin = 1.5 * STEP
    assert np.all(PT[reg.edge] > lo - margin)
    assert np.all(PT[reg.edge] < hi + margin)
    assert not np.any(reg.edge & reg.fringe)
    # every fringe pixel is within the dark band |sin(p_x b/2)| < 0.5 (I < 0.25 E)
    phase = np.abs(np.sin(PX * B_OVER_HC / 2))
    assert np.all(phase[reg.fringe] < 0.5 + 1e-9)
    # the central fringe p_x = 0 (the two columns next to it) is dark inside the spot
    pt = PT
    central = (np.abs(PX) < STEP) & (pt < hi)
    assert np.all(reg.fringe[central])
    # the first outer fringes p_x = +-2 pi hbar c / b = +-0.083 GeV are found
    first = np.abs(np.abs(PX) - 2 * math.pi / B_OVER_HC) < 0.5 * STEP
    assert np.any(reg.fringe & first)


def test_an_azimuthally_symmetric_image_has_no_fringe():
    reg = region_masks(np.exp(-(PT**2) / S**2), AXIS, AXIS)
    assert not reg.fringe.any()
    assert reg.edge.any()


def test_shares_add_up_and_follow_the_attribution():
    reg = region_masks(_sphere(), AXIS, AXIS)
    only_edge = region_shares(np.where(reg.edge, -2.0, 0.0), reg)
    assert only_edge["edge"] == pytest.approx(1.0)
    assert only_edge["fringe"] == 0.0
    flat = region_shares(np.ones((PIXELS, PIXELS)), reg)
    assert flat["edge"] + flat["fringe"] + flat["other"] == pytest.approx(1.0)
    assert flat["edge_enrichment"] == pytest.approx(1.0)
    assert flat["fringe"] == pytest.approx(reg.fringe.mean())


def test_bad_levels_are_named():
    with pytest.raises(ParameterError, match="edge_high"):
        region_masks(_sphere(), AXIS, AXIS, edge_low=0.5, edge_high=0.4)
    with pytest.raises(ParameterError, match="image"):
        region_masks(np.zeros((PIXELS, PIXELS)), AXIS, AXIS)
