"""Event files read back with pyarrow and pyhepmc: columns, PDG ids, status codes, units and
four-momentum conservation at every vertex; staged chunks and their checksums."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from meson_batches import hand_batch
from upclens.data.eventfiles import (
    COLUMNS,
    four_momentum,
    hepmc3_manifest,
    parquet_manifest,
    read_parquet,
    write_hepmc3,
    write_parquet,
)
from upclens.data.eventgen import (
    EventConfig,
    TableStaging,
    event_table,
    manifest,
    output_paths,
)
from upclens.errors import ParameterError

pyhepmc = pytest.importorskip("pyhepmc")


@pytest.fixture
def tables(rng):
    cfg = EventConfig(nucleus="Au197", meson="jpsi", channel="ee", detector="star",
                      incoherent_fraction=0.2, y_min=-1.0, y_max=1.0)
    out = []
    for k in range(2):
        batch = hand_batch(300, rng, pt_max=0.3, y_range=(-1.0, 1.0))
        out.append(event_table(cfg, batch, 300 * k, rng, rng))
    return cfg, out


def test_parquet_reads_back_with_every_column(tmp_path, tables):
    cfg, ts = tables
    man = manifest(cfg, 600, 7)
    path = write_parquet(tmp_path / "ev.parquet", man, ts)
    t = read_parquet(path)
    assert list(t) == list(COLUMNS)
    np.testing.assert_array_equal(t["event"], np.arange(600))
    np.testing.assert_array_equal(t["d1_px"], np.concatenate([x["d1_px"] for x in ts]))
    assert set(t["neutron_class"]) == {"any"}
    assert parquet_manifest(path) == man
    pair = four_momentum(t, "d1") + four_momentum(t, "d2")
    np.testing.assert_allclose(pair, four_momentum(t, "meson"), atol=1e-9, rtol=0)
    # incoherent share near 0.2 (binomial, 5 sd), reco differs from truth by the resolution
    assert abs(t["coherent"].mean() - 0.8) < 5 * np.sqrt(0.16 / 600)
    rel = t["d1_reco_px"] / t["d1_px"] - 1
    assert 0.003 < np.std(rel) < 0.05


def test_hepmc3_reads_back_with_ids_status_and_conservation(tmp_path, tables):
    cfg, ts = tables
    man = manifest(cfg, 600, 7)
    path = write_hepmc3(tmp_path / "ev.hepmc3", man, ts)
    assert hepmc3_manifest(path) == man
    ion = 1000791970
    t = {k: np.concatenate([x[k] for x in ts]) for k in COLUMNS}
    n = 0
    with pyhepmc.open(str(path)) as f:
        for evt in f:
            assert evt.momentum_unit == pyhepmc.Units.GEV
            assert evt.length_unit == pyhepmc.Units.MM
            ids = [p.pid for p in evt.particles]
            assert ids == [ion, ion, 443, ion, ion, -11, 11]
            assert [p.status for p in evt.particles] == [4, 4, 2, 1, 1, 1, 1]
            for v in evt.vertices:
                pin = sum((np.array(list(p.momentum)) for p in v.particles_in), np.zeros(4))
                pout = sum((np.array(list(p.momentum)) for p in v.particles_out), np.zeros(4))
                np.testing.assert_allclose(pout, pin, atol=1e-9, rtol=0)
            for p in evt.particles:  # the nuclei stay on shell
                assert abs(p.momentum.m() - p.generated_mass) < 1e-6 * max(1, p.generated_mass)
            i = evt.event_number
            # GenHeavyIon is written with 8 significant digits
            assert evt.heavy_ion.impact_parameter == pytest.approx(t["truth_b_fm"][i], rel=1e-7)
            assert evt.heavy_ion.event_plane_angle == pytest.approx(t["truth_b_phi"][i], abs=1e-6,
                                                                    rel=1e-7)
            meson = evt.particles[2].momentum
            assert meson.px == pytest.approx(t["meson_px"][i], abs=1e-12)
            assert str(evt.attributes["neutron_class"]) == "any"
            n += 1
    assert n == 600


def test_staged_chunks_round_trip_and_catch_damage(tmp_path, tables):
    cfg, ts = tables
    st = TableStaging(tmp_path / "ev", manifest(cfg, 600, 7))
    st.open()
    st.write(0, ts[0])
    c, back = st.read(0)
    assert c == 0
    for k in COLUMNS:
        np.testing.assert_array_equal(back[k], ts[0][k])
    st.chunk_path(1).write_bytes(b"not a chunk")
    assert st.done(2) == {0}
    assert not st.chunk_path(1).exists()


def test_output_names():
    paths = output_paths("run/ev.parquet", ("parquet", "hepmc3"))
    assert paths == {"parquet": Path("run/ev.parquet"), "hepmc3": Path("run/ev.hepmc3")}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"meson": "phi"}, r"meson = 'phi'.*jpsi, psi2s, rho0"),
    ({"meson": "rho0", "channel": "ee"}, r"channel = 'ee'.*pipi for rho0"),
    ({"neutron_class": "1n1n"}, r"neutron_class = '1n1n'.*0n0n"),
    ({"detector": "atlas"}, r"detector = 'atlas'"),
    ({"detector": "star", "cuts": (("eta_min", 2.0),)}, r"empty acceptance"),
    ({"y_min": -6.0}, r"rapidity = \(-6.0, 1.0\).*-4.17 < y_min"),
    ({"formats": ("root",)}, r"format = 'root'"),
])
def test_config_refusals_name_the_value(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        EventConfig(**kwargs)


def test_accepted_only_keeps_the_accepted_events(rng):
    cfg = EventConfig(detector="star", accepted_only=True, neutron_class="XnXn")
    t = event_table(cfg, hand_batch(2000, rng, pt_max=0.3), 0, rng, rng)
    assert 0 < len(t["event"]) < 2000
    assert t["accepted"].all()
    assert set(t["neutron_class"]) == {"XnXn"}
    assert np.all(np.diff(t["event"]) > 0)
