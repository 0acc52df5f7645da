"""The event study's incoherent events: one model with the event generator and the bound."""

from __future__ import annotations

import math

import numpy as np

from upclens.information import EngineSettings
from upclens.observables import eventstudy as es
from upclens.observables.events import pair_pt
from upclens.physics.nucleus import Nucleus


def test_incoherent_events_fill_the_bounds_background_inside_the_window():
    """The incoherent alternative of every event (RawEvents.q1, q2) has its pair pT from the
    background the event bound reads (``incoherent_background`` of the same nucleus; its ring
    probabilities from Gauss-Legendre integrals of the Good-Walker spectrum, the events from
    the generator's table and exact inversion): chi2 within 5 sd of its mean, and every pair
    inside the production's window.  The fixed-shape spectrum drawn before put 98 % of its
    events beyond 0.1 GeV and fails it."""
    from upclens.information.event_fisher import incoherent_background

    pt_max, n = 0.1, 30_000
    raw = es.simulate(Nucleus.from_preset("Zr96"), n, 4,
                      es.Production(rapidity=(0.0, 0.0), pt_max=pt_max))
    pt = pair_pt(raw.q1.astype(float), raw.q2.astype(float))
    assert pt.max() < pt_max * (1 + 1e-5)  # float32 storage of the daughters
    bg = incoherent_background(EngineSettings(nucleus="Zr96", sqrt_snn=200.0, pt_max=pt_max),
                               {})
    counts = np.histogram(np.minimum(pt, pt_max), bg["ring_edges"])[0]
    expected = n * bg["rings"]
    ndf = counts.size - 1
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < ndf + 5 * math.sqrt(2 * ndf), chi2
    # a selection makes the configured share of its events incoherent (5 binomial sd)
    sel = es.select(raw, es.Selection(incoherent_fraction=0.3))
    share = np.mean(np.all(np.isclose(sel.r1, raw.q1, rtol=1e-5, atol=1e-7), axis=1))
    assert abs(share - 0.3) < 5 * math.sqrt(0.3 * 0.7 / n), share
