"""The isobar study's pieces: selections on the same events (common random numbers), the
forward-neutron classes with an efficiency and a flux scale against their closed forms, the
ratio of two independent samples of one nucleus, and the study end to end at a tiny size."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from upclens.observables import eventstudy as es
from upclens.observables import isobar as iso
from upclens.observables.events import Binned, pt_spectrum


@pytest.fixture(scope="module")
def zr_events():
    return es.simulate(iso.SPECIES["Zr"].nucleus(), 60_000, 3,
                       es.Production(rapidity=(0.0, 0.0)))


def _count(raw, cls, **kw):
    return int(np.sum(es.neutron_classes(raw, **kw) == cls))


def test_the_same_selection_gives_the_same_events_and_star_keeps_a_subset(zr_events):
    a, b = es.select(zr_events, iso.STAR), es.select(zr_events, iso.STAR)
    assert np.array_equal(a.r1, b.r1) and np.array_equal(a.classes, b.classes)  # noqa: PT018
    free = es.select(zr_events)
    assert len(free) == len(zr_events) > len(a) > 0
    # detector-free measured momenta are the true ones
    assert np.allclose(free.r1, zr_events.p1, atol=1e-6)


def test_neutron_efficiency_thins_xnxn_as_epsilon_squared(zr_events):
    """Each side seen with probability eps: the measured XnXn events are a subset of the true
    ones, a binomial share eps^2; the lost ones become 0nXn."""
    full = es.neutron_classes(zr_events)
    thin = es.neutron_classes(zr_events, efficiency=0.8)
    true_x = full == "XnXn"
    assert np.all(true_x[thin == "XnXn"])
    n, k = int(true_x.sum()), int(np.sum(thin == "XnXn"))
    assert n > 300
    p = 0.8**2
    assert abs(k / n - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert np.sum(thin == "0n0n") >= np.sum(full == "0n0n")


def test_flux_scale_raises_xnxn_between_s_and_s_squared(zr_events):
    """P(XnXn) = (1 - exp(-s m))^2 grows by a factor between 1 and s^2 (s > 1), and by more
    than s where m << 1 (the UPC J/psi of Zr at RHIC: m ~ 0.1); the same events, so the
    larger flux's XnXn set contains the nominal one."""
    base = es.neutron_classes(zr_events) == "XnXn"
    more = es.neutron_classes(zr_events, flux_scale=1.1) == "XnXn"
    assert np.all(more[base])
    ratio = more.sum() / base.sum()
    assert 1.1 < ratio <= 1.21 + 1e-12


def test_two_independent_samples_of_one_nucleus_give_a_ratio_of_one_within_errors():
    """Ratio of two independent samples of the same nucleus: pulls (r - 1) / sigma with unit
    spread (the ratio error formula), and <cos 2 Delta phi> differences with unit spread."""
    nuc = iso.SPECIES["Ru"].nucleus()
    prod = es.Production(rapidity=(0.0, 0.0))
    sampler = es.sampler(nuc, prod)
    obs = [es.observables(es.select(es.simulate(nuc, 40_000, 5, prod, sampler, stream=s)),
                          iso.ISOBAR_PT_EDGES) for s in (0, 1)]
    r = iso.ratios({"spectrum": obs[0].spectrum, "cos2": obs[0].cos2},
                   {"spectrum": obs[1].spectrum, "cos2": obs[1].cos2})
    pulls = np.concatenate([(r["spectrum"].value - 1) / r["spectrum"].error,
                            r["cos2_difference"].value / r["cos2_difference"].error])
    pulls = pulls[np.isfinite(pulls)]
    assert pulls.size >= 15
    # chi2 of ~18 unit-normal pulls: mean 18, standard deviation 6; 5 sigma either side
    assert 0.1 * pulls.size < np.sum(pulls**2) < pulls.size + 5 * math.sqrt(2 * pulls.size)


def test_shift_in_errors_and_cos_ratio_closed_forms():
    edges = np.array([0.0, 0.1, 0.2, 0.3])
    c = 0.5 * (edges[1:] + edges[:-1])
    a = Binned(edges, c, np.array([1.0, 2.0, 4.0]), np.array([0.1, 0.2, 0.4]), np.ones(3))
    b = Binned(edges, c, np.array([2.0, 2.0, 8.0]), np.array([0.1, 0.1, 0.1]), np.ones(3))
    # bins below 0.2 GeV: shifts 1 and 0 in errors of 1 -> rms sqrt(1/2)
    assert iso.shift_in_errors(a, b, np.ones(3)) == pytest.approx(math.sqrt(0.5))
    r = iso.cos_ratio(a, b)
    assert r.value == pytest.approx([0.5, 1.0, 0.5])
    assert r.error[0] == pytest.approx(0.5 * math.hypot(0.1, 0.05))
    assert np.all(pt_spectrum(np.array([0.05]), edges).counts == [1, 0, 0])


def test_tiny_isobar_study_writes_its_report_and_refuses_another_plan(tmp_path):
    from upclens.cli import main
    from upclens.errors import ParameterError
    from upclens.information.isobar_fisher import DIFFERENCES, read_difference_bound
    from upclens.pipeline.isobar import IsobarPlan, run_isobar
    from upclens.pipeline.results import (
        IsobarRatiosResult,
        IsobarSensitivityResult,
        IsobarSystematicsResult,
    )

    plan = IsobarPlan(model_events=20_000, star_counts=20, rapidity=(0.0, 0.0),
                      fisher_numerics="coarse", fisher_pt_max=0.06)
    results = run_isobar(tmp_path / "iso", plan, progress=False)
    ratios, syst = results["ratios"], results["systematics"]
    sens = results["sensitivity"]
    assert isinstance(sens, IsobarSensitivityResult)
    assert [c.name for c in sens.columns][:2] == ["XnXn: pT", "XnXn: pT + daughter angle"]
    bound = read_difference_bound(tmp_path / "iso" / sens.bound_file, "0nXn: pT")
    assert sorted(bound) == sorted(sens.n_values)
    for c in sens.columns:
        for d in DIFFERENCES:
            # sigma falls with N; the N for 5 sigma is beyond that for 3 sigma
            assert all(a > b for a, b in zip(c.sigma[d], c.sigma[d][1:], strict=False))
            if c.n_for["3"][d] is not None and c.n_for["5"][d] is not None:
                assert c.n_for["5"][d] > c.n_for["3"][d]
    assert isinstance(ratios, IsobarRatiosResult)
    assert isinstance(syst, IsobarSystematicsResult)
    assert [c.neutron_class for c in ratios.selections] == list(iso.NEUTRON_SELECTIONS)
    for c in ratios.selections:
        assert c.n_star == {"Ru": 20, "Zr": 20}
    assert len(syst.rows) == len(iso.SYSTEMATICS) * len(iso.NEUTRON_SELECTIONS)
    for row in syst.rows:
        # the 0.2 GeV daughter cut never acts on J/psi electrons inside |eta| < 1 (pT ~ 1.5 GeV)
        if row.effect == "daughter pT cut":
            assert row.spectrum_alone == row.spectrum_ratio == 0.0
    page = (tmp_path / "iso" / "report.html").read_text()
    for words in ("Which systematic effects cancel in the ratio", "Ru/Zr ratios, neutron class "
                  "XnXn", "Delta r_np (fm)", "Sensitivity of the ratio",
                  "N per species for 5 sigma"):
        assert words in page
    stored = json.loads((tmp_path / "iso" / "stages" / "ratios.json").read_text())
    assert IsobarRatiosResult.from_dict(stored).selections == ratios.selections
    with pytest.raises(ParameterError, match="different plan"):
        run_isobar(tmp_path / "iso", IsobarPlan(model_events=30_000), progress=False)
    assert main(["isobar", "--out", str(tmp_path / "bad"), "--star-counts", "-1"]) == 2
