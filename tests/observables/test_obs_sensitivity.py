"""Sensitivity study: statistics on known linear data, the study on a small real dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from upclens.errors import ParameterError
from upclens.observables.sensitivity import sensitivity, sensitivity_table
from upclens.observables.stats import linear_fit, pearson, spearman
from upclens.observables.table import ObservableTable


def test_linear_fit_recovers_slopes_and_its_errors_match_the_spread() -> None:
    rng = np.random.default_rng([7, 0])
    n, sd = 60, 0.5
    x = rng.uniform(0, 1, (n, 2))
    slopes = []
    quoted = []
    for _ in range(300):
        y = 1.0 + 2.0 * x[:, 0] - 3.0 * x[:, 1] + rng.normal(0, sd, n)
        fit = linear_fit(x, y)
        slopes.append(fit.slopes)
        quoted.append(fit.errors)
    slopes, quoted = np.array(slopes), np.array(quoted)
    # mean of 300 fits: within 4 standard errors of the mean
    assert np.abs(slopes.mean(0) - [2.0, -3.0]).max() < 4 * quoted.mean(0).max() / np.sqrt(300)
    # quoted errors vs spread of 300 fits (spread known to 4 %): 15 %
    np.testing.assert_allclose(quoted.mean(0), slopes.std(0, ddof=1), rtol=0.15)
    # the analytic error of one slope with the other regressor orthogonal-ish is sd/sqrt(Sxx):
    one = linear_fit(x[:, 0], 2.0 * x[:, 0] + rng.normal(0, sd, n))
    sxx = np.sum((x[:, 0] - x[:, 0].mean()) ** 2)
    assert one.errors[0] == pytest.approx(sd / np.sqrt(sxx), rel=0.3)


def test_correlations() -> None:
    x = np.arange(10.0)
    assert pearson(x, 3 * x + 1) == pytest.approx(1.0)
    assert spearman(x, np.exp(x)) == pytest.approx(1.0)
    assert pearson(x, np.exp(x)) < 0.9
    assert np.isnan(pearson(x, np.zeros(10)))


def test_partial_slopes_separate_correlated_parameters() -> None:
    """O = 2 beta2 only; beta3 is correlated with beta2 in the sample: the plain slope against
    beta3 is non-zero, the partial slope is zero within its error."""
    rng = np.random.default_rng([8, 0])
    b2 = rng.uniform(0, 0.3, 200)
    b3 = 0.5 * b2 + rng.uniform(0, 0.1, 200)
    obs = 2.0 * b2 + rng.normal(0, 0.01, 200)
    table = ObservableTable(["o"], obs[:, None], np.full((200, 1), np.nan),
                            {"beta2": b2, "beta3": b3})
    rows = {r["parameter"]: r for r in sensitivity_table(table, ("beta2", "beta3"))["rows"]}
    assert rows["beta3"]["slope"] > 10 * rows["beta3"]["slope_err"]
    assert abs(rows["beta3"]["partial_slope"]) < 4 * rows["beta3"]["partial_slope_err"]
    assert rows["beta2"]["partial_slope"] == pytest.approx(2.0, abs=4 * rows["beta2"][
        "partial_slope_err"])
    with pytest.raises(ParameterError, match="parameters"):
        sensitivity_table(table, ("R",))


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> str:
    """24 exact 24x24 images of 96Zr over the default priors (beta2, beta3 in [0, 0.3], half
    with a 0.2 fm halo skin)."""
    from upclens.data import generate_dataset, load_config

    cfg = load_config(None, {"image.pixels": 24, "image.orientations": "exact",
                             "run.chunk_size": 12})
    path = tmp_path_factory.mktemp("data") / "small.h5"
    generate_dataset(cfg, 24, 11, path, workers=1, progress=False)
    return str(path)


def test_sensitivity_study_on_simulated_images(small_dataset: str, tmp_path) -> None:
    result = sensitivity(small_dataset, tmp_path / "sens", plots=True)
    for name in result["files"]:
        assert (tmp_path / "sens" / name).stat().st_size > 0
    on_disk = json.loads((tmp_path / "sens" / "sensitivity.json").read_text())
    assert on_disk["n"] == 24
    assert set(on_disk["regressors"]) == {"beta2", "beta3", "delta_rnp"}
    rows = {(r["observable"], r["parameter"]): r for r in result["rows"]}
    # A neutron halo makes the nucleus larger: the spot shrinks, mean pT falls (a 0.2 fm change of
    # the rms matter radius is ~2 % of 4.3 fm; <pT> ~ 1/R).  Must be many sigma, on every image.
    skin = rows[("mean_pt", "delta_rnp")]
    assert skin["partial_slope"] < -5 * skin["partial_slope_err"]
    # Deformation fills the dark fringes: the dark-fringe depth rises with beta2 and with beta3.
    for p in ("beta2", "beta3"):
        fringe = rows[("dark_fringe", p)]
        assert fringe["partial_slope"] > 3 * fringe["partial_slope_err"], p
    # Exact images without q_z: v3 is identically zero, so no correlation can be claimed.
    v3 = rows[("v3[0.14-0.16]", "beta3")]
    assert v3["constant"]
    assert v3["pearson"] is None  # the returned dict is JSON-ready: NaN as None
    assert "v3[0.14-0.16] | beta3 | constant" in (tmp_path / "sens" / "sensitivity.md").read_text()
    lines = (tmp_path / "sens" / "observables.csv").read_text().splitlines()
    assert len(lines) == 25
    assert lines[0].startswith("index,beta2,beta3,delta_rnp,skin,bright_area,bright_area_err")
