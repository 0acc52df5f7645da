"""Event-set datasets: seeded items, the stored file, per-event features and neutron classes."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("particle")
pytest.importorskip("h5py")

from upclens.data.eventgen import EventConfig
from upclens.data.eventsets import (
    FEATURES,
    EventSetConfig,
    config_from_dict,
    features_from_daughters,
    generate_event_sets,
    read_event_sets,
    simulate_set,
    subsets,
)
from upclens.errors import ParameterError


def tiny(n_events: int = 200) -> EventSetConfig:
    return EventSetConfig(events=EventConfig(nucleus="Zr96", y_min=0.0, y_max=0.0,
                                             formats=("parquet",)),
                          n_events=n_events, chunk_size=2)


def _p4(pt: float, phi: float, y: float, m: float) -> np.ndarray:
    mt = math.hypot(m, pt)
    return np.array([mt * math.cosh(y), pt * math.cos(phi), pt * math.sin(phi),
                     mt * math.sinh(y)])


def test_features_of_a_known_pair() -> None:
    """A pair built as meson (pT, phi, y) = (0.1 GeV, 0.4, 0.7) -> daughters back to back in
    the meson frame boosted: the pair gives back pT, y; a daughter along +x of the pair gives
    delta_phi of that daughter's lab azimuth minus the pair's."""
    d1 = _p4(1.3, 0.4 + 0.9, 0.5, 0.000511)
    d2 = _p4(1.2, 0.4 - 2.0, 0.9, 0.000511)
    f = features_from_daughters(d1[None], d2[None])
    pair = d1 + d2
    assert f["px"][0] == pytest.approx(pair[1])
    assert f["py"][0] == pytest.approx(pair[2])
    y = 0.5 * math.log((pair[0] + pair[3]) / (pair[0] - pair[3]))
    assert f["rapidity"][0] == pytest.approx(y)
    phi_pair = math.atan2(pair[2], pair[1])
    expect = (0.4 + 0.9 - phi_pair + math.pi) % (2 * math.pi) - math.pi
    assert f["delta_phi"][0] == pytest.approx(expect)
    # rotating both daughters leaves delta_phi and y, rotates pT
    rot = [_p4(1.3, 0.4 + 0.9 + 1.1, 0.5, 0.000511), _p4(1.2, 0.4 - 2.0 + 1.1, 0.9, 0.000511)]
    g = features_from_daughters(rot[0][None], rot[1][None])
    assert g["delta_phi"][0] == pytest.approx(f["delta_phi"][0])
    assert math.hypot(g["px"][0], g["py"][0]) == pytest.approx(math.hypot(f["px"][0], f["py"][0]))


def test_item_depends_only_on_seed_and_index() -> None:
    cfg = tiny(100)
    a, la = simulate_set(cfg, 7, 3)
    b, lb = simulate_set(cfg, 7, 3)
    _c, lc = simulate_set(cfg, 7, 4)
    assert np.array_equal(a, b)
    assert np.array_equal(la, lb)
    assert not np.array_equal(la, lc)
    assert a.shape == (100, len(FEATURES))
    assert a.dtype == np.float32
    assert np.isfinite(a).all()
    assert np.all(np.hypot(a[:, 0], a[:, 1]) < cfg.events.pt_max + 1e-6)
    assert set(np.unique(a[:, 4])) <= {0.0, 1.0, 2.0}
    assert lc[3] == (1.0 if lc[2] > 0.1 else 0.0)


def test_class_fractions_follow_the_b_distribution() -> None:
    """The drawn neutron classes of 4000 events against class_summaries (the image engine's
    |b| density weighted by P(class | b)): binomial agreement within 4 sd for each class."""
    from upclens.physics.image import DoubleSlit
    from upclens.physics.neutrons import class_summaries
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

    cfg = tiny(4000)
    feats, labels = simulate_set(cfg, 1, 0)
    nuc = Nucleus.from_preset("Zr96", beta2=float(labels[0]), beta3=float(labels[1]),
                              delta_rnp=float(labels[2]), R=float(labels[4]),
                              a=float(labels[5]))
    sim = DoubleSlit(nuc, Collision(sqrt_snn=200.0, rapidity=0.0, b_magnitude="upc",
                                    b_direction="random"),
                     ModelSwitches(polarization="vector"), ImageGrid(16, 0.2))
    frac = class_summaries(sim.b_distribution, Z=40, A=96, sqrt_snn=200.0)
    n = len(feats)
    for code, name in enumerate(("0n0n", "0nXn", "XnXn")):
        p = frac[name].fraction
        got = float(np.mean(feats[:, 4] == code))
        assert abs(got - p) < 4 * math.sqrt(p * (1 - p) / n) + 2e-3, (name, got, p)


def test_file_holds_the_items_and_refuses_another_call(tmp_path) -> None:
    cfg = tiny(50)
    out = tmp_path / "sets.h5"
    generate_event_sets(cfg, 3, 5, out, progress=False)
    feats, labels, config = read_event_sets(out)
    assert config_from_dict(config).content_dict() == cfg.content_dict()
    for k in range(3):
        f, lab = simulate_set(cfg, 5, k)
        assert np.array_equal(feats[k], f)
        assert np.array_equal(np.array([labels[c][k] for c in cfg.columns]), lab)
    first, _, _ = read_event_sets(out, 20)
    assert np.array_equal(first, feats[:, :20])
    assert generate_event_sets(cfg, 3, 5, out, progress=False) == out  # finished: as it is
    with pytest.raises(Exception, match="another config"):
        generate_event_sets(cfg, 3, 6, out, progress=False)
    with pytest.raises(ParameterError, match="n_events"):
        read_event_sets(out, 51)


def test_a_shorter_file_is_extended_with_the_sets_a_longer_call_makes(tmp_path, monkeypatch
                                                                     ) -> None:
    """3 sets, then 7 of the same config and seed: the 7 are those a fresh call of 7 makes
    (set k depends on (seed, k) only), the whole chunk of the 3 is copied (sets 0-1 never
    simulated again, set 2 of the half chunk is), and a call for fewer sets is refused."""
    import upclens.data.eventsets as eventsets

    cfg = tiny(40)
    out, fresh = tmp_path / "sets.h5", tmp_path / "fresh.h5"
    generate_event_sets(cfg, 3, 5, out, progress=False)
    made: list[int] = []
    simulate = eventsets.simulate_set

    def counted(c: EventSetConfig, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        made.append(index)
        return simulate(c, seed, index)

    monkeypatch.setattr(eventsets, "simulate_set", counted)
    generate_event_sets(cfg, 7, 5, out, progress=False)
    assert sorted(made) == [2, 3, 4, 5, 6]
    monkeypatch.setattr(eventsets, "simulate_set", simulate)
    generate_event_sets(cfg, 7, 5, fresh, progress=False)
    got, got_labels, _ = read_event_sets(out)
    want, want_labels, _ = read_event_sets(fresh)
    assert np.array_equal(got, want)
    assert all(np.array_equal(got_labels[c], want_labels[c]) for c in cfg.columns)
    assert not out.with_name(out.name + ".parts").exists()
    with pytest.raises(Exception, match="another config"):
        generate_event_sets(cfg, 5, 5, out, progress=False)


def test_subsets_are_subsets() -> None:
    rng = np.random.default_rng(0)
    feats = rng.random((4, 30, 5)).astype(np.float32)
    s = subsets(feats, 10, rng)
    assert s.shape == (4, 10, 5)
    for k in range(4):
        rows = {tuple(r) for r in feats[k]}
        assert all(tuple(r) in rows for r in s[k])
        assert len({tuple(r) for r in s[k]}) == 10
    # every stored event is drawn with the same probability N / N_max = 1/3: over 3000 draws
    # of 4 sets each index is counted 4000 +- 30 times (binomial sd sqrt(12000 x 1/3 x 2/3))
    idx = np.broadcast_to(np.arange(30, dtype=np.float32)[None, :, None], (4, 30, 5))
    counts = np.zeros(30)
    for _ in range(3000):
        counts += np.bincount(subsets(idx, 10, rng)[..., 0].astype(int).ravel(), minlength=30)
    assert np.all(np.abs(counts - 4000) < 5 * np.sqrt(12000 / 3 * 2 / 3)), counts


def test_bad_config_is_refused() -> None:
    from upclens.data.config import Prior, PriorsConfig

    with pytest.raises(ParameterError, match="n_events"):
        EventSetConfig(n_events=0)
    with pytest.raises(ParameterError, match=r"priors\.b"):
        EventSetConfig(priors=PriorsConfig(b=Prior("fixed", value=15.0)))
