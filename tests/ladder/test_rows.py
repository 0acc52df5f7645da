"""Row definitions: valid dataset configs and bound settings that match each row's text."""

from __future__ import annotations

from dataclasses import replace

import pytest

from upclens.errors import ParameterError
from upclens.information.model import NUISANCE_PRIORS, InformationSettings, realism_ladder
from upclens.ladder.bound import prior_widths
from upclens.ladder.rows import N_LETTERS, all_rows, ladder_rows, ladder_size
from upclens.ladder.run import row_config
from upclens.physics.presets import preset


def _configs(size: str = "paper") -> dict:
    return {r.name: (r, row_config(r)) for r in ladder_rows(size)}


@pytest.mark.parametrize("size", ["tiny", "small", "workstation", "paper"])
def test_every_row_of_every_size_is_a_valid_config(size: str) -> None:
    spec = ladder_size(size)
    rows = ladder_rows(size)
    assert [r.name for r in rows] == list(spec.rows)
    for row in rows:
        cfg = row_config(row)
        assert cfg.image.pixels == spec.pixels
        assert cfg.image.n_events == (row.n_events or 0)
        assert row.has_crb == (row.n_events is not None or bool(row.pool))
        if row.pool:
            assert row.name in ("3m", "3n")
            assert row.pool == spec.pool
            assert row.training == ({"count_feature": True} if row.name == "3n" else {})
            assert cfg.image.orientations == "exact"


def test_paper_is_every_row_and_small_has_the_required_ones() -> None:
    assert [r.name for r in ladder_rows("paper")] == [r.name for r in all_rows()]
    small = set(ladder_size("small").rows)
    assert {"1", "2", "3b", "3d", "3m", "4a", "5a", "6b"} <= small
    assert ladder_size("small").pool == (10_000, 1_000_000)
    assert ladder_size("paper").pool == (1000, 10_000, 100_000, 1_000_000)
    assert ladder_size("workstation").rows == ladder_size("paper").rows
    assert ladder_size("workstation").pool == ladder_size("paper").pool


def test_row_1_is_the_seed_setting() -> None:
    row, cfg = _configs()["1"]
    assert cfg.physics.b == 15.0
    assert cfg.physics.b_direction == "fixed"
    assert cfg.physics.b_magnitude == "fixed"
    assert cfg.physics.skin_type == "halo"
    assert cfg.image.orientations == 128
    assert cfg.image.n_events == 0
    p = cfg.priors.delta_rnp
    assert (p.kind, p.value, p.fraction) == ("binary", 0.2, 0.5)
    assert not row.has_crb
    assert row.nuisances == {}


def test_rows_2_and_3_exact_average_continuous_skin_and_counts() -> None:
    configs = _configs()
    for name in ("2", "3a", "3b", "3c", "3d"):
        cfg = configs[name][1]
        assert cfg.image.orientations == "exact"
        p = cfg.priors.delta_rnp
        assert (p.kind, p.low, p.high, p.threshold) == ("uniform", 0.0, 0.3, 0.1)
        assert cfg.physics.b_direction == "fixed"
        assert cfg.image.incoherent_fraction == 0.0
    assert configs["2"][1].image.n_events == 0
    assert [configs[f"3{k}"][0].n_events for k in "abcd"] == [1e3, 1e4, 1e5, 1e6]
    assert N_LETTERS == {"a": 1000, "b": 10_000, "c": 100_000, "d": 1_000_000}


def test_rows_4_5_6_add_one_effect_each_to_row_3() -> None:
    configs = _configs()
    base = configs["3b"][1]
    for name, frac in (("4a", 0.1), ("4b", 0.3)):
        cfg = configs[name][1]
        assert cfg.image.incoherent_fraction == frac
        assert cfg.image.smearing == 0.01
        assert replace(cfg, image=base.image) == base
    assert configs["5a"][1].physics.b_direction == "random"
    assert configs["5a"][1].physics.b_magnitude == "fixed"
    assert configs["5b"][1].physics.b_direction == "random"
    assert configs["5b"][1].physics.b_magnitude == "upc"
    p = preset("Zr96")
    for name in ("6b", "6d"):
        row, cfg = configs[name]
        assert row.nuisances == NUISANCE_PRIORS
        assert cfg.columns[4:] == ["R", "a", "sigma_vn_scale"]
        for key, mean, sd in (("R", p.R, 0.02), ("a", p.a, 0.01),
                              ("sigma_vn_scale", 1.0, 0.2)):
            prior = getattr(cfg.priors, key)
            assert (prior.kind, prior.mean, prior.sd) == ("normal", mean, sd)
            assert prior.low == pytest.approx(mean - 3 * sd)
    assert configs["6b"][0].n_events == 1e4
    assert configs["6d"][0].n_events == 1e6


def test_bound_settings_are_the_information_modules_ladder() -> None:
    configs = _configs()
    base = InformationSettings.from_config(configs["3b"][1])
    ladder = realism_ladder(base)
    assert InformationSettings.from_config(configs["5a"][1]) == ladder["random_b_direction"][0]
    assert InformationSettings.from_config(configs["5b"][1]) == ladder["upc_b"][0]
    assert InformationSettings.from_config(configs["6b"][1]) == ladder["fixed_b"][0]
    assert tuple(configs["6b"][0].nuisances) == ladder["nuisances"][1]
    bg = InformationSettings.from_config(configs["4a"][1])
    assert (bg.incoherent_fraction, bg.smearing) == (0.1, 0.01)
    assert bg.collision == base.collision
    assert prior_widths(configs["3b"][1]) == pytest.approx(
        {"beta2": 0.3, "beta3": 0.3, "delta_rnp": 0.3})


def test_unknown_rows_and_sizes_are_refused() -> None:
    with pytest.raises(ParameterError, match="rows"):
        ladder_rows("small", "2,7")
    with pytest.raises(ParameterError, match="size"):
        ladder_size("huge")
    assert [r.name for r in ladder_rows("small", "6b, 2")] == ["2", "6b"]


@pytest.mark.parametrize("seed", [-1, 1.5, True])
def test_bad_seeds_are_refused(tmp_path, seed) -> None:  # type: ignore[no-untyped-def]
    from upclens.ladder import run_ladder

    with pytest.raises(ParameterError, match="seed"):
        run_ladder(tmp_path, rows="2", size="tiny", seed=seed, progress=False)
    assert not (tmp_path / "ladder_study.json").exists()
