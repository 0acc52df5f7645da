"""The information of measured events: the event engine's density integrated over |b|, the decay
angle's closed form, symmetries, agreement with the image bound, step halving, the command."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from upclens.information.event_fisher import EventAnalysis, EventModel, columns, event_fisher
from upclens.information.events_model import (
    DensityCache,
    EngineSettings,
    angular_factors,
    class_weights,
    kappa,
    make_sampler,
    pixel_densities,
)
from upclens.physics.numerics import Numerics

POINT = {"beta2": 0.15, "beta3": 0.15, "delta_rnp": 0.1}
COARSE = Numerics(n_orient_cos=8, n_orient_azimuth=16, dx=0.7)


@pytest.fixture(scope="module")
def engine() -> EngineSettings:
    """|pT| < 0.06 GeV, |y| < 0.5 (three rapidity nodes), coarse orientation grid."""
    return EngineSettings(pt_max=0.06, y_max=0.5, numerics=COARSE)


@pytest.fixture(scope="module")
def cache(engine) -> DensityCache:
    return DensityCache(engine)


def test_b_integral_is_the_engines_pixel_density(engine):
    sampler = make_sampler(POINT, engine)
    weights = class_weights(sampler, engine)
    for y in (0.0, 0.5):
        mine = pixel_densities(sampler, y, weights)
        ref = np.moveaxis(sampler.pixel_density(y), -1, 0)
        scale = np.abs(ref).max()
        assert np.abs(mine[0] - ref).max() < 1e-12 * scale
        # the three classes partition the events: their densities add up to class 'any'
        assert np.abs(mine[1:].sum(axis=0) - mine[0]).max() < 1e-12 * scale


def test_symmetries_of_the_density(cache):
    d = cache(POINT)
    i_scale = d.rings[..., 0].max()
    # reflection p_y -> -p_y of the b frame: no sin 2 Delta phi term after the ring sum
    assert np.abs(d.rings[..., 2]).max() < 1e-12 * i_scale
    # a symmetric collision: y and -y are the same
    assert np.abs(d.rings[0] - d.rings[-1]).max() < 1e-12 * i_scale
    # |D| <= I: rho is positive
    assert np.all(np.abs(d.rings[..., 1]) <= d.rings[..., 0] * (1 + 1e-12))


def _polar_integral(spin: float, beta2: float) -> float:
    """<cos 2 phi> for rho = x x^T (polarised along x) by a direct 2D quadrature of W(n)."""
    c, wc = np.polynomial.legendre.leggauss(64)
    phi = 2 * math.pi * np.arange(64) / 64
    cc, pp = np.meshgrid(c, phi, indexing="ij")
    nx2 = (1 - cc**2) * np.cos(pp) ** 2
    w = nx2 if spin == 0.0 else 1 - beta2 * nx2
    w = w * wc[:, None]
    return float(np.sum(w * np.cos(2 * pp)) / np.sum(w))


def test_kappa_is_the_polar_angle_integral_of_the_decay_tensor():
    from upclens.physics.decays import pdg_mass

    for channel, md in (("ee", pdg_mass(11)), ("mumu", pdg_mass(13))):
        beta2 = 1 - (2 * md / 3.0969) ** 2
        # p(phi) = (1 + kappa cos 2 phi) / 2 pi for D = 1 gives <cos 2 phi> = kappa / 2
        assert kappa(channel) == pytest.approx(2 * _polar_integral(0.5, beta2), abs=1e-12)
        assert kappa(channel) == pytest.approx(-beta2 / (3 - beta2), rel=1e-12)
    assert kappa("ee") == pytest.approx(-0.5, abs=1e-6)  # massless limit
    assert kappa("pipi", mass=0.775) == 1.0 == pytest.approx(2 * _polar_integral(0.0, 1.0))


def test_kappa_agrees_with_the_engines_decays():
    from upclens.physics.decays import decay_mesons

    n = 200_000
    rho = np.zeros((n, 2, 2), complex)
    rho[:, 0, 0] = 1.0
    zero = np.zeros(n)
    d = decay_mesons(zero, zero, zero, np.full(n, 3.0969), rho, 443, "ee",
                     np.random.default_rng(3))
    mean = float(np.mean(np.cos(2 * d.phi)))
    err = float(np.std(np.cos(2 * d.phi)) / math.sqrt(n))
    assert abs(mean - kappa("ee") / 2) < 4 * err


def test_full_acceptance_reproduces_the_closed_form():
    from upclens.physics.detector import DETECTORS, Detector

    phi = 2 * math.pi * np.arange(16) / 16
    DETECTORS["open"] = Detector("open", -9.0, 9.0)
    try:
        quad = angular_factors("ee", phi, np.array([0.05, 0.3]), np.array([0.0, 1.0]), "open")
    finally:
        del DETECTORS["open"]
    closed = angular_factors("ee", phi)
    # midpoint rule on a quadratic in cos theta with 256 nodes: relative error ~ 1e-5
    assert np.abs(quad - closed[:, None, None, :]).max() < 1e-5 / (2 * math.pi)
    star = angular_factors("ee", phi, np.array([0.05]), np.array([0.0, 1.0]), "star")
    assert np.all(star[0, 0] > 0)
    assert np.all(star[0] <= closed[0] + 1e-12)
    # at y = 1 one of the two back-to-back daughters always leaves |eta| < 1
    assert np.all(star[0, 1] == 0.0)


@pytest.fixture(scope="module")
def along_b(engine) -> DensityCache:
    """Uniform flux with the vector field (the photon polarised along b), y = 0, coarser."""
    return DensityCache(replace(engine, flux="uniform", y_max=0.0,
                                numerics=replace(COARSE, n_orient_cos=4, n_orient_azimuth=8)))


def test_field_along_b_the_angle_adds_kappa_v2_cos_2dphi(along_b):
    """Uniform flux with the vector field: the photon is polarised along b everywhere, so
    rho = I x x^T, D/I per ring is the image's own v2 = <cos 2 phi_p>, and the daughter angle
    adds exactly sum_k P_k J(a_k) da_k da_k^T, a_k = kappa v2_k, J(a) = (1/sqrt(1-a^2) - 1)/a^2
    the information on a of (1 + a cos 2 Delta phi) / 2 pi."""
    cache = along_b
    eng = cache.engine
    sampler = make_sampler(POINT, eng)
    rho = pixel_densities(sampler, 0.0, np.ones((1, sampler._b_cells.size)))[0]
    tr = np.real(rho[:, 0, 0] + rho[:, 1, 1])
    assert np.abs(rho[:, 1, 1]).max() < 1e-12 * tr.max()
    assert np.abs(rho[:, 0, 1]).max() < 1e-12 * tr.max()
    d = cache(POINT)
    px, py = d.px, d.py
    ring = np.searchsorted(d.ring_edges, np.hypot(px, py), side="right") - 1
    inside = ring < d.ring_edges.size - 1
    v2 = np.bincount(ring[inside], tr[inside] * np.cos(2 * np.arctan2(py, px))[inside])
    assert np.allclose(d.rings[0, 0, :, 1], v2, rtol=1e-10, atol=1e-12 * tr.max())

    names = ["beta2", "beta3", "delta_rnp"]
    pt_only = event_fisher(POINT, EventAnalysis(pt_max=eng.pt_max), cache, 1.0, "",
                           check_step=False)
    angle = event_fisher(POINT, EventAnalysis(pt_max=eng.pt_max, channel="ee"), cache, 1.0, "",
                         check_step=False)
    gain = angle.per_event - pt_only.per_event
    k = kappa("ee")

    def a_and_p(point):
        m = cache(point).rings[0, 0]
        return k * m[:, 1] / m[:, 0], m[:, 0] / m[:, 0].sum()

    a0, p0 = a_and_p(POINT)
    da = []
    for n in names:  # the central differences fisher_from_model takes (step h/2 = 0.005)
        up, _ = a_and_p({**POINT, n: POINT[n] + 0.005})
        dn, _ = a_and_p({**POINT, n: POINT[n] - 0.005})
        da.append((up - dn) / 0.01)
    da = np.array(da)
    j = (1 / np.sqrt(1 - a0**2) - 1) / a0**2
    closed = np.einsum("k,ik,jk->ij", p0 * j, da, da)
    assert np.all(np.diag(gain) > 0)
    # exact but for the finite difference of the product P_k (1 + a_k cos 2 Delta phi) against
    # the product rule: O(h^2) with h = 0.005, ~1e-5 of the gain
    assert np.allclose(gain, closed, rtol=1e-4, atol=1e-7 * np.abs(closed).max())


def test_columns_order_and_handles(cache):
    """Losing the b direction costs information; reading more of the same events (the angle,
    the neutron class: finer partitions of the same events) cannot lose any."""
    cols = columns(pt_wide=0.06, pt_max=0.06)
    sig = {}
    for name in ("b known (image)", "b direction unknown, pT", "+ daughter angle",
                 "+ neutron classes"):
        sig[name] = event_fisher(POINT, cols[name], cache, 1e5, "", check_step=False).sigma_crb
    for n in ("beta2", "beta3", "delta_rnp"):
        assert sig["b known (image)"][n] < sig["b direction unknown, pT"][n]
        assert sig["+ daughter angle"][n] <= sig["b direction unknown, pT"][n] * (1 + 1e-9)
        assert sig["+ neutron classes"][n] <= sig["+ daughter angle"][n] * (1 + 1e-9)


def test_partial_reads_of_the_sets_are_coarsenings(cache):
    """The bound of each partial analysis of the event sets (data.eventsets.READ_COLUMNS)
    reads a coarsening of the same events: its per-event Fisher matrix lies below that of every
    analysis that reads more (I_more - I_less positive semi-definite: information cannot grow
    by pooling); pooling y is the sum of the y-resolved probabilities."""
    from types import SimpleNamespace

    from upclens.data.eventsets import READ_COLUMNS
    from upclens.information.event_fisher import sets_analysis

    events = SimpleNamespace(y_min=-0.5, y_max=0.5, neutron_class="any", detector="none",
                             incoherent_fraction=0.0, nucleus="Zr96", sqrt_snn=200.0,
                             pt_max=0.06, channel="ee")
    info = {}
    for name, reads in READ_COLUMNS.items():
        a = sets_analysis(events, reads=reads)[1]
        assert a.rapidity
        assert a.y_observed == ("rapidity" in reads)
        assert a.classes == ("classes" in reads)
        assert (a.channel == "ee") == ("angle" in reads)
        info[name] = event_fisher(POINT, a, cache, 1e5, "", check_step=False).per_event
    for less, more in itertools.pairwise(READ_COLUMNS):
        d = info[more] - info[less]
        assert np.linalg.eigvalsh(d).min() >= -1e-6 * np.abs(info[more]).max(), (less, more)
    # rapidity read gives information on top of the classes (> 0 in some direction)
    assert np.linalg.eigvalsh(info["+ rapidity"] - info["+ neutron classes"]).max() > 0
    full = sets_analysis(events)[1]
    pooled = EventModel(replace(full, y_observed=False), cache)(POINT)
    resolved = EventModel(full, cache)(POINT)
    assert pooled.shape == (1, *resolved.shape[1:])
    assert np.allclose(pooled[0], resolved.sum(axis=0), rtol=1e-12, atol=0)


def test_sets_with_an_acceptance_read_it_and_refuse_smearing(cache):
    """Sets cut by a detector's acceptance without its smearing: the bound reads the same
    acceptance (the decay's, also when the angle is not read: pT as seen through the
    daughters); sets with its smearing or with changed acceptance cuts are refused."""
    from types import SimpleNamespace

    from upclens.errors import ParameterError
    from upclens.information.event_fisher import sets_analysis

    zero = (("res_const", 0.0), ("res_slope", 0.0))
    base = {"y_min": -0.5, "y_max": 0.5, "neutron_class": "any", "incoherent_fraction": 0.0,
            "nucleus": "Zr96", "sqrt_snn": 200.0, "pt_max": 0.06, "channel": "ee",
            "detector": "star"}
    a = sets_analysis(SimpleNamespace(**base, cuts=zero))[1]
    assert a.detector == "star"
    assert a.angle
    pt_only = sets_analysis(SimpleNamespace(**base, cuts=zero), reads=("pt",))[1]
    assert (pt_only.detector, pt_only.channel, pt_only.angle) == ("star", "ee", False)
    p = EventModel(replace(pt_only, pt_max=0.06), cache)(POINT)
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    for cuts in ((), zero[:1], (*zero, ("eta_max", 0.8))):
        with pytest.raises(ParameterError):
            sets_analysis(SimpleNamespace(**base, cuts=cuts))


def test_incoherent_background_costs_information(cache):
    a = EventAnalysis(pt_max=0.06, channel="ee", classes=True)
    n_r = cache(POINT).rings.shape[2]
    flat = np.ones(n_r) / n_r
    clean = event_fisher(POINT, a, cache, 1e5, "", check_step=False)
    dirty = event_fisher({**POINT, "incoherent_fraction": 0.3}, replace(a, incoherent=True),
                         cache, 1e5, "", background=flat, check_step=False)
    assert "incoherent_fraction" in dirty.names
    for n in ("beta2", "beta3", "delta_rnp"):
        assert dirty.sigma_crb[n] > clean.sigma_crb[n]
    m = EventModel(replace(a, incoherent=True), cache, flat)({**POINT,
                                                              "incoherent_fraction": 0.3})
    assert m.sum() == pytest.approx(1.0, abs=1e-12)


def test_step_halving_converges(along_b):
    res = event_fisher(POINT, EventAnalysis(pt_max=0.06, channel="ee"), along_b, 1e4,
                       "", check_step=True)
    for n in ("beta2", "beta3", "delta_rnp"):
        assert res.step_change[n] < 0.02, res.step_change


@pytest.mark.slow
def test_b_known_agrees_with_the_image_bound():
    """b along px, |b| from the UPC weight, no decay: the event model on the square window is
    today's image (scalar photon, 16 x 16 pixels of 7.5 MeV).  The event tables hold pixel
    integrals while the image model evaluates pixel centres, which at the destructive minimum
    px = 0 (I ~ px^2) differ by 4/3; so the image is taken on 4 x 4 sub-pixels and summed (the
    sub-pixel sum still leaves 5.7 % on the two central columns, converging slowly (4.6 % at
    8 x 8: the far |b| tail makes the image cusp-like at px = 0), and < 0.6 % elsewhere).  The
    rest is numerics: tabulated |b| nodes against per-|b| images.  The central columns carry
    much of beta2's information, hence 5 % on the bounds."""
    from upclens.information import ExactImageModel, InformationSettings
    from upclens.information.fisher import fisher_from_model
    from upclens.information.model import PARAMETERS
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

    k, sub, step = 8, 4, 0.0075
    eng = EngineSettings(pt_max=k * step * math.sqrt(2) + 1e-3, polarization="scalar",
                         numerics=COARSE)
    ours = event_fisher(POINT, EventAnalysis(b_known=True, square=True, pt_max=k * step),
                        DensityCache(eng), 1e4, "", check_step=False)
    settings = InformationSettings(
        collision=Collision(b_direction="fixed", b_magnitude="upc"),
        switches=ModelSwitches(), grid=ImageGrid(2 * k * sub, k * step), numerics=COARSE)
    fine = ExactImageModel(settings)

    def binned(point):
        return fine(point).reshape(2 * k, sub, 2 * k, sub).sum(axis=(1, 3))

    ref = binned(POINT)
    mine = EventModel(EventAnalysis(b_known=True, square=True, pt_max=k * step),
                      DensityCache(eng))(POINT)
    d = DensityCache(eng)(POINT)
    keep = np.maximum(np.abs(d.px), np.abs(d.py)) < k * step
    ix = np.round(d.px[keep] / step + k - 0.5).astype(int)
    iy = np.round(d.py[keep] / step + k - 0.5).astype(int)
    ratio = mine / (ref[iy, ix] / ref.sum())
    off_centre = np.abs(d.px[keep]) > step
    assert np.abs(ratio[off_centre] - 1).max() < 0.01
    assert np.abs(ratio[~off_centre] - 1).max() < 0.07
    pars = [PARAMETERS[n] for n in ("beta2", "beta3", "delta_rnp")]
    image = fisher_from_model(binned, POINT, pars, 1e4, check_step=False)
    for n in ("beta2", "beta3", "delta_rnp"):
        assert ours.sigma_crb[n] == pytest.approx(image.sigma_crb[n], rel=0.05), n


def test_command_help_and_bad_input(tmp_path, capsys):
    from upclens.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["event-fisher", "--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "GeV" in text
    assert "fm" in text
    for bad in (("--pt-max", "-1"), ("--detector", "atlas"), ("--nuisances", "R,bogus"),
                ("--n-values", "0"), ("--y-max", "7")):
        assert main(["event-fisher", "--out", str(tmp_path), *bad]) == 2, bad
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("upclens: error:"), err


def test_generated_incoherent_events_follow_the_bounds_background():
    """One incoherent model: the generator's incoherent events (data/eventgen) fill the pT
    rings of the background the bound reads (incoherent_background of the preset nucleus)
    with its ring probabilities (chi2 within 5 sd of its mean), stay inside the window, and
    make the configured share of the events (within 5 binomial sd).  The fixed-shape
    spectrum the generator drew from before fails it: 98 % of its events lay beyond 0.1 GeV."""
    from upclens.data.eventgen import EventConfig, _sampler, event_table
    from upclens.information.event_fisher import incoherent_background

    pt_max, share, n = 0.1, 0.6, 30_000
    cfg = EventConfig(nucleus="Zr96", y_min=-0.5, y_max=0.5, pt_max=pt_max,
                      incoherent_fraction=share, formats=("parquet",))
    rngs = [np.random.default_rng(s) for s in (1, 2, 3)]
    table = event_table(cfg, _sampler(cfg).sample(n, rngs[0]), 0, rngs[1], rngs[2])
    inc = ~np.asarray(table["coherent"])
    assert abs(inc.mean() - share) < 5 * math.sqrt(share * (1 - share) / n)
    pt = np.hypot(table["meson_px"], table["meson_py"])[inc]
    assert pt.max() < pt_max
    bg = incoherent_background(EngineSettings(nucleus="Zr96", sqrt_snn=200.0, pt_max=pt_max),
                               {})
    counts = np.histogram(pt, bg["ring_edges"])[0]
    expected = inc.sum() * bg["rings"]
    ndf = counts.size - 1
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < ndf + 5 * math.sqrt(2 * ndf), chi2


def test_sets_with_incoherent_events_read_their_share_known(cache, monkeypatch):
    """Incoherent sets make an incoherent analysis; their bound reads the preset nucleus's
    background at the sets' own share, held known (the sets fix it, as a learner trained on
    them knows it): a known share costs less than a free one and more than none."""
    import importlib
    from types import SimpleNamespace

    ef = importlib.import_module("upclens.information.event_fisher")  # the module, not the
    # function of the same name that upclens.information exports

    events = SimpleNamespace(y_min=-0.5, y_max=0.5, neutron_class="any", detector="none",
                             incoherent_fraction=0.2, nucleus="Zr96", sqrt_snn=200.0,
                             pt_max=0.06, channel="ee")
    _engine, a = ef.sets_analysis(events)
    assert a.incoherent
    seen = {}
    monkeypatch.setattr(ef, "incoherent_background", lambda eng, point: {"point": point})
    monkeypatch.setattr(ef, "event_table", lambda *args, **kw: seen.update(args=args, kw=kw))
    ef.sets_bound(events, POINT, (1e4,))
    assert seen["args"][5] == {"point": {}}  # the preset nucleus, as the generator's
    assert seen["kw"]["incoherent_fraction"] == 0.2
    assert seen["kw"]["incoherent_prior"] == 0.0
    n_r = cache(POINT).rings.shape[2]
    flat = np.ones(n_r) / n_r
    point = {**POINT, "incoherent_fraction": 0.2}
    inc = replace(a, rapidity=False, y_observed=True, pt_max=0.06)
    sig = {prior: event_fisher(point, inc, cache, 1e5, "", flat, prior,
                               check_step=False) for prior in (0.0, math.inf)}
    assert "incoherent_fraction" not in sig[0.0].names
    clean = event_fisher(POINT, replace(inc, incoherent=False), cache, 1e5, "",
                         check_step=False)
    for n in ("beta2", "beta3", "delta_rnp"):
        assert clean.sigma_crb[n] < sig[0.0].sigma_crb[n] <= sig[math.inf].sigma_crb[n]
