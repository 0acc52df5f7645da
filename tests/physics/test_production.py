"""Event-by-event production: events against the exact images, spin density, |b|, rapidity."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.physics import production
from upclens.physics.flux import point_charge_flux
from upclens.physics.image import DoubleSlit, orientation_quadrature
from upclens.physics.kinematics import TargetKinematics, sigma_vn_fm2
from upclens.physics.mesons import M_PION_CHARGED, MESONS, meson
from upclens.physics.nucleus import Nucleus
from upclens.physics.production import (
    N_B_CHEBYSHEV,
    EventSampler,
    MesonBatch,
    _HalfPlaneDFT,
    _moments_on_nodes,
)
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

VECTOR = ModelSwitches(polarization="vector")
NUCLEUS = Nucleus.from_preset("Zr96", beta2=0.1, beta3=0.15)


@pytest.fixture(scope="module")
def sampler() -> EventSampler:
    return EventSampler(NUCLEUS, pt_max=0.35)


@pytest.fixture(scope="module")
def events(sampler) -> MesonBatch:
    return sampler.sample(60000, np.random.default_rng(11))


def _to_b_frame(ev: MesonBatch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    c, s = np.cos(ev.b_phi), np.sin(ev.b_phi)
    px = c * ev.px + s * ev.py
    py = -s * ev.px + c * ev.py
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    rho = np.swapaxes(rot, 1, 2) @ ev.rho @ rot
    return px, py, rho


def _blocks(a: np.ndarray, k: int) -> np.ndarray:
    n = a.shape[-1] // k
    return a.reshape(*a.shape[:-2], n, k, n, k).sum(axis=(-1, -3))


def test_batch_is_well_formed(sampler, events):
    ev = events
    assert len(ev) == 60000
    assert ev.pdg_id == 443
    assert ev.rho.shape == (60000, 2, 2)
    assert np.abs(np.trace(ev.rho, axis1=1, axis2=2) - 1.0).max() < 1e-12
    assert np.abs(ev.rho - np.conj(np.swapaxes(ev.rho, 1, 2))).max() < 1e-14
    assert np.linalg.eigvalsh(ev.rho).min() > -1e-12
    assert np.hypot(ev.px, ev.py).max() < 0.35
    assert np.all(ev.rapidity == 0.0)
    assert np.all(ev.mass == MESONS["jpsi"].mass)
    assert np.all((ev.b_phi >= 0) & (ev.b_phi < 2 * math.pi))
    one = sampler.sample(500, np.random.default_rng(3))
    two = sampler.sample(500, np.random.default_rng(3))
    assert all(np.array_equal(getattr(one, k), getattr(two, k))
               for k in ("px", "py", "rapidity", "mass", "rho", "b", "b_phi"))


def test_events_reproduce_the_exact_random_direction_image(events):
    """Histogram of lab momenta against the exact UPC-|b|, random-direction image (on a 3x finer
    grid, summed over blocks) in 16 x 16 bins of 30 MeV: chi^2 within 4 sigma of its dof."""
    grid = ImageGrid(96, 0.24)
    exact = DoubleSlit(NUCLEUS, Collision(b_magnitude="upc", b_direction="random"), VECTOR,
                       grid).image().intensity
    expected = _blocks(exact, 6)
    edges = np.linspace(-0.24, 0.24, 17)
    counts, _, _ = np.histogram2d(events.py, events.px, bins=[edges, edges])
    n = counts.sum()
    expected = expected / expected.sum() * n
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    dof = counts.size - 1
    assert abs(chi2 - dof) < 4 * math.sqrt(2 * dof)


def test_events_at_forward_rapidity_reproduce_the_exact_image():
    """y = 1 with the coherence phase: the two sources have their own photon energies (0.57 and
    4.2 GeV), fluxes, sigma_VN and q_z, combined per event from the single-source tables.
    Events, rotated back by their b direction, against the exact UPC-|b| image with b along x
    (12 x 12 bins of 33 MeV, chi^2 within 4 sigma of its dof)."""
    sw = ModelSwitches(polarization="vector", coherence_phase=True)
    s = EventSampler(NUCLEUS, rapidity=(1.0, 1.0), switches=sw, pt_max=0.3)
    ev = s.sample(40000, np.random.default_rng(21))
    px, py, _ = _to_b_frame(ev)
    grid = ImageGrid(48, 0.2)
    edges = np.linspace(-0.2, 0.2, 13)
    counts, _, _ = np.histogram2d(py, px, bins=[edges, edges])
    dof = counts.size - 1
    chi2 = {}
    for y in (1.0, 0.0):
        exact = _blocks(DoubleSlit(NUCLEUS, Collision(rapidity=y, b_magnitude="upc"), sw,
                                   grid).exact_intensity(), 4)
        expected = exact / exact.sum() * counts.sum()
        chi2[y] = float(np.sum((counts - expected) ** 2 / expected))
    assert abs(chi2[1.0] - dof) < 4 * math.sqrt(2 * dof)
    assert chi2[0.0] > dof + 20 * math.sqrt(2 * dof)  # the y = 0 image is far off (measured 1568)


def test_sampled_spin_density_reproduces_the_tabulated_one(sampler, events):
    """In the frame of b, the mean of the events' rho over a momentum bin is
    int rho / int tr rho of the tabulated model (phase integrated exactly over each pixel, |b|
    over the UPC weight): 60 MeV bins of 8 x 8 table pixels, chi^2 with the events' spread, for
    rho_xx and Re rho_xy.  Im rho_xy (circular polarisation) vanishes here: real x-space
    amplitudes (no q_z phase) at y = 0."""
    rho = sampler.pixel_density(0.0)
    cx, cy = sampler.pixel_centres
    edges = np.linspace(-0.24, 0.24, 9)
    jx, jy = np.digitize(cx, edges) - 1, np.digitize(cy, edges) - 1
    px, py, rho_ev = _to_b_frame(events)
    ix, iy = np.digitize(px, edges) - 1, np.digitize(py, edges) - 1
    chi2, dof = 0.0, 0
    for j in range(8):
        for i in range(8):
            pix = (jx == i) & (jy == j)
            sel = (ix == i) & (iy == j)
            assert pix.sum() == 64
            if sel.sum() < 300:  # rho_xx clusters near 1 with rare outliers: the spread of
                # a small bin is underestimated
                continue
            r = rho[:, :, pix].sum(axis=-1)
            r = r / np.trace(r).real
            for value, exact in ((rho_ev[sel, 0, 0].real, r[0, 0].real),
                                 (rho_ev[sel, 0, 1].real, r[0, 1].real)):
                chi2 += (value.mean() - exact) ** 2 / (value.var(ddof=1) / value.size)
                dof += 1
    assert dof > 20
    assert np.abs(rho_ev[:, 0, 1].imag).max() < 1e-12
    assert abs(chi2 - dof) < 4 * math.sqrt(2 * dof)
    # the polarisation is real physics here: rho_xx departs from 1/2 (the photon along b)
    assert np.mean(rho_ev[:, 0, 0].real) > 0.55


def test_uniform_flux_events_are_polarised_along_b():
    """Field along b everywhere: every meson has rho = b b^T in the lab."""
    s = EventSampler(NUCLEUS, switches=ModelSwitches(flux="uniform", polarization="vector"),
                     pt_max=0.2)
    ev = s.sample(2000, np.random.default_rng(2))
    bhat = np.stack([np.cos(ev.b_phi), np.sin(ev.b_phi)], axis=1)
    expected = bhat[:, :, None] * bhat[:, None, :]
    assert np.abs(ev.rho - expected).max() < 1e-12


def test_table_moments_match_a_direct_evaluation():
    """The single-source moments on the |b| table nodes (Chebyshev in 1/b, flux-normalised)
    against the moments computed directly at three of those nodes.  The tolerance: the
    interpolant converges to a 3e-4 floor (the field regulator inside the emitter is not
    analytic in 1/b at b < 2 R) by 6 nodes, whether with 6 or 8 nodes."""
    sim = DoubleSlit(NUCLEUS, Collision(rapidity=0.5), VECTOR, ImageGrid(24, 0.2))
    nodes, weights = orientation_quadrature(sim.numerics, z_symmetric=True, mirror=True)
    amp = sim.amplitude(2)
    g = amp.profiles(nodes)
    b_nodes = np.exp(np.linspace(math.log(9.0), math.log(120.0), 32))
    pix = np.arange(24 * 24)
    table = _moments_on_nodes(sim, amp, g, weights, b_nodes, pix, N_B_CHEBYSHEV)
    for k in (1, 12, 28):
        m, sq = sim._ensemble(amp, g, weights, (-float(b_nodes[k]), 0.0), True, matrix=True)
        direct = np.concatenate([m.reshape(2, -1), sq.reshape(4, -1)])
        assert np.abs(table[k] - direct).max() < 1e-3 * np.abs(direct).max()


@pytest.mark.parametrize("polarization", ["vector", "scalar"])
def test_half_plane_moments_equal_the_full_transform(polarization):
    """The set-up's half-plane transform (G(-p) = G(p)* for the real amplitudes, x and y
    transforms onto p > 0 only) against the image engine's full separable DFT, summed over the
    same nodes: the same sums in double precision, so equal to ~1e-15 of the largest moment."""
    switches = ModelSwitches(polarization=polarization)
    sim = DoubleSlit(NUCLEUS, Collision(rapidity=-0.5), switches, ImageGrid(24, 0.2))
    nodes, weights = orientation_quadrature(sim.numerics, z_symmetric=True, mirror=True)
    amp = sim.amplitude(2)
    g = amp.profiles(nodes)
    half = _HalfPlaneDFT.build(amp, g)
    assert half is not None
    for b in (9.0, 40.0):
        m, sq = half.moments(amp.field((-b, 0.0)), weights)
        m_ref, sq_ref = sim._ensemble(amp, g, weights, (-b, 0.0), True, matrix=True)
        assert np.abs(m - m_ref).max() < 1e-12 * np.abs(m_ref).max()
        assert np.abs(sq - sq_ref).max() < 1e-12 * np.abs(sq_ref).max()
    # complex profiles (coherence phase) are left to the full transform
    assert _HalfPlaneDFT.build(amp, g.astype(complex)) is None


def test_tables_do_not_depend_on_the_number_of_setup_threads(monkeypatch):
    """Each photon-energy node fills its own rows of the tables, whichever thread runs it."""
    tables = []
    for threads in (1, 2):
        monkeypatch.setattr(production, "SETUP_THREADS", threads)
        s = EventSampler(NUCLEUS, rapidity=(-0.5, 0.5), pt_max=0.15)
        tables.append((s._tab, s._log_yield))
    np.testing.assert_array_equal(tables[0][0], tables[1][0])
    np.testing.assert_array_equal(tables[0][1], tables[1][1])


def test_rapidity_range_is_symmetric_for_identical_nuclei():
    s = EventSampler(NUCLEUS, rapidity=(-1.0, 1.0), pt_max=0.12)
    y = np.linspace(-1.0, 1.0, 9)
    d = s.dsigma_dy(y)
    assert np.all(d > 0)
    assert np.allclose(d, d[::-1], rtol=1e-9)
    ev = s.sample(20000, np.random.default_rng(4))
    assert np.all(np.abs(ev.rapidity) <= 1.0)
    assert abs(ev.rapidity.mean()) < 4 * ev.rapidity.std() / math.sqrt(len(ev))
    # the sampled rapidity spectrum follows dsigma/dy (4 bins, chi^2 with 3 dof)
    counts, edges = np.histogram(ev.rapidity, bins=4, range=(-1, 1))
    fine = np.linspace(-1, 1, 401)
    dens = s.dsigma_dy(fine)
    expected = np.array([np.trapezoid(dens[(fine >= lo) & (fine <= hi)],
                                      fine[(fine >= lo) & (fine <= hi)])
                         for lo, hi in itertools.pairwise(edges)])
    expected = expected / expected.sum() * len(ev)
    assert np.sum((counts - expected) ** 2 / expected) < 20.0


def test_b_weight_selects_the_collisions():
    s = EventSampler(NUCLEUS, b_weight=lambda b: (b > 30.0).astype(float), pt_max=0.2)
    ev = s.sample(3000, np.random.default_rng(6))
    assert ev.b.min() > 30.0 - 0.05
    with pytest.raises(ParameterError, match="b_weight"):
        EventSampler(NUCLEUS, b_weight=lambda b: np.zeros_like(b))


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"meson": "upsilon"}, "meson"), ({"rapidity": (1.0, -1.0)}, "rapidity"),
    ({"rapidity": (0.0, 7.0)}, "rapidity"), ({"pt_max": 0.0}, "pt_max")])
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ParameterError, match=name):
        EventSampler(NUCLEUS, **kwargs)


def test_meson_constants_and_kinematics():
    with pytest.raises(ParameterError, match="jpsi, psi2s, rho0"):
        meson("phi")
    # rho0-nucleon cross section from VMD: close to the pion-nucleon one, ~25 mb (quark counting)
    assert 2.0 < sigma_vn_fm2(10.0, MESONS["rho0"]) < 3.0
    # psi(2S): smaller gamma-p cross section than the J/psi at the same W, but larger sigma_VN
    # through its larger f_V^2/4pi (STARlight)
    w = 25.0
    assert MESONS["psi2s"].sigma_gamma_p_nb(w) < MESONS["jpsi"].sigma_gamma_p_nb(w)
    # each meson's own mass sets omega and q_z: q_z = M / (2 gamma) at y = 0
    for m in MESONS.values():
        kin = TargetKinematics.build(200.0, 0.0, +1, meson=m)
        assert kin.omega == pytest.approx(m.mass / 2)
        gamma = 200.0 / (2 * 0.93149)
        assert kin.qz * 0.1973269804 == pytest.approx(m.mass / (2 * gamma))


def test_rho_line_shape():
    """Zero below the two-pion threshold, peaked at the pole, and the drawn masses follow it."""
    rho = MESONS["rho0"]
    m = np.linspace(0.2, 1.5, 2601)
    shape = rho.line_shape(m)
    assert np.all(shape[m <= 2 * M_PION_CHARGED] == 0.0)
    assert abs(m[np.argmax(shape)] - rho.mass) < 0.01
    half = m[shape > 0.5 * shape.max()]
    assert abs((half[-1] - half[0]) - rho.width) < 0.03  # FWHM ~ Gamma for a narrow-ish peak
    draws = rho.sample_mass(np.random.default_rng(1), 50000)
    assert draws.min() >= rho.mass_min
    assert draws.max() <= rho.mass_max
    counts, edges = np.histogram(draws, bins=20, range=(rho.mass_min, rho.mass_max))
    fine = np.linspace(rho.mass_min, rho.mass_max, 20001)
    dens = rho.line_shape(fine)
    cdf = np.concatenate([[0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(fine))])
    expected = np.diff(np.interp(edges, fine, cdf)) / cdf[-1] * draws.size
    ok = expected > 5
    assert np.sum((counts[ok] - expected[ok]) ** 2 / expected[ok]) < ok.sum() + 4 * math.sqrt(
        2 * ok.sum())


def test_rho0_events_use_their_own_mass_and_cross_section():
    s = EventSampler(NUCLEUS, meson="rho0", pt_max=0.2)
    ev = s.sample(2000, np.random.default_rng(9))
    assert ev.pdg_id == 113
    assert ev.mass.std() > 0.05
    sim = DoubleSlit(NUCLEUS, Collision(), VECTOR, meson="rho0")
    assert sim.kin1.sigma_vn > 5 * DoubleSlit(NUCLEUS, Collision(), VECTOR).kin1.sigma_vn


def test_covariance_projection_only_removes_negative_eigenvalues(rng):
    """C = S - m m^dagger: untouched when positive, its negative eigenvalue removed otherwise
    (the remaining eigenpair kept)."""
    from upclens.physics.production import _psd_covariance

    m = rng.normal(size=(2, 50)) + 1j * rng.normal(size=(2, 50))
    v = rng.normal(size=(2, 50)) + 1j * rng.normal(size=(2, 50))
    v /= np.linalg.norm(v, axis=0)
    lam = np.stack([rng.uniform(0.1, 1.0, 50), rng.uniform(-0.1, 1.0, 50)])
    u = np.stack([v, np.stack([-np.conj(v[1]), np.conj(v[0])])])  # orthonormal pair (k, i, n)
    cov = np.einsum("kn,kin,kjn->ijn", lam, u, np.conj(u))
    outer = m[:, None] * np.conj(m)[None, :]
    fixed = _psd_covariance(m, outer + cov) - outer
    expected = np.einsum("kn,kin,kjn->ijn", np.maximum(lam, 0.0), u, np.conj(u))
    assert np.abs(fixed - expected).max() < 1e-12


def test_lhc_impact_parameters_reach_beyond_the_image_table():
    """At 5.02 TeV the soft photon reaches gamma hbar c / omega ~ 340 fm: events come from
    |b| up to ~2000 fm.  The share beyond 120 fm against 2 pi b P_noHad n(omega, b) with the
    centre flux (the field's variation over the nucleus matters at small b only): 0.295."""
    s = EventSampler(Nucleus.from_preset("Pb208"), sqrt_snn=5020.0, pt_max=0.1)
    ev = s.sample(20000, np.random.default_rng(8))
    sim = DoubleSlit(Nucleus.from_preset("Pb208"), Collision(sqrt_snn=5020.0))
    dist = sim.b_distribution
    b = np.arange(0.025, 6 * sim.gamma * 0.1973269804 / sim.kin1.omega, 0.05)
    p_nohad = np.where(b <= dist.b[-1], np.interp(b, dist.b, dist.p_no_hadronic()), 1.0)
    pdf = b * p_nohad * point_charge_flux(sim.kin1.omega, b, sim.gamma, 82, sim.profile.R_p)
    expected = pdf[b > 120].sum() / pdf.sum()
    assert 0.2 < expected < 0.4
    assert abs(np.mean(ev.b > 120.0) - expected) < 0.015  # 5 sigma of 20 000 events
