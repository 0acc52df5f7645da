"""The coherent Pb208 |t| spectrum at 5.02 TeV against ALICE (PLB 817 (2021) 136280)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import chi2 as chi2_dist

from support import SHARED_REAL_DATA
from upclens.compare import ALICE_COHERENT_PB, fit_alice_coherent_pb, read_alice_coherent
from upclens.physics.nucleus import Nucleus
from upclens.physics.settings import ModelSwitches


def test_shipped_data_equal_the_shared_measurement():
    shared = SHARED_REAL_DATA / ALICE_COHERENT_PB
    if not shared.exists():
        pytest.skip(f"{shared} not present beside the repository")
    a, b = read_alice_coherent(), read_alice_coherent(shared)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_glauber_shape_against_alice():
    """Reported chi2/ndf without skin (docs/physics.md); the Glauber non-linearity must
    describe the shape better than the linear model, and the fit scale is the suppression
    factor seen at the LHC (data below Glauber by ~0.6)."""
    glauber = fit_alice_coherent_pb()
    linear = fit_alice_coherent_pb(switches=ModelSwitches(glauber=False))
    print(f"ALICE Pb208 coherent: chi2/ndf = {glauber.chi2:.2f}/{glauber.ndf} "
          f"(linear {linear.chi2:.2f}/{linear.ndf}), scale {glauber.scale:.3f}")
    assert glauber.ndf == 5
    assert glauber.chi2 < linear.chi2
    assert 0.4 < glauber.scale < 0.8
    assert chi2_dist.sf(glauber.chi2, glauber.ndf) > 0.005


def test_measured_neutron_skin_describes_alice_shape():
    """With the PREX-II skin of 208Pb (0.283 fm) the shape fit is good (p > 0.05) and better
    than without skin."""
    skin = fit_alice_coherent_pb(Nucleus.from_preset("Pb208", delta_rnp=0.283, skin_type="skin"))
    none = fit_alice_coherent_pb()
    assert skin.chi2 < none.chi2
    assert chi2_dist.sf(skin.chi2, skin.ndf) > 0.05
