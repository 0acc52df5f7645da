"""One table of the model against published numbers: each row the model's value, the measured
value with its uncertainty, the pull (or chi2), the source and the choices the comparison rests
on.  ``compare_published`` computes it (a few minutes on one core); ``write_table`` writes
Markdown, CSV and JSON.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from upclens.io import atomic_path
from upclens.physics.nucleus import Nucleus
from upclens.published.reference import read_reference

RHO_T_EDGES = np.linspace(0.0, 0.06, 61)  # GeV^2: the rho0 |t| spectrum for the radius fits
RADIUS_T_WINDOW = (0.003, 0.045)  # GeV^2: beyond the interference region, past the 1st minimum
INTERFERENCE_T_EDGES = np.array([0.0, 0.0005, 0.001, 0.0015, 0.002, 0.003, 0.004, 0.005, 0.006,
                                 0.008, 0.010])


@dataclass(frozen=True)
class ComparisonRow:
    """One published number against the model.

    quantity: what is compared.  model, data: values (unit ``unit``; NaN where only a sign or a
    chi2 is compared).  data_error: total one-sigma uncertainty of the data (stat and syst in
    quadrature; for a chi2 row the ndf).  pull: (model - data) / sqrt(data_error^2 +
    model_error^2), or the chi2 for a spectrum.  metric: 'pull', 'chi2/ndf' or 'sign'.
    source: paper and arXiv.  choices: what the comparison rests on.
    """

    quantity: str
    unit: str
    model: float
    model_error: float
    data: float
    data_error: float
    pull: float
    metric: str
    source: str
    choices: str

    def formatted(self) -> dict[str, str]:
        """Strings for the Markdown table."""
        def num(v: float) -> str:
            return "-" if not math.isfinite(v) else f"{v:.3g}"
        model = num(self.model) + (f" +- {self.model_error:.2g}" if self.model_error > 0 else "")
        if self.metric == "chi2/ndf":
            data = "spectrum"
            pull = f"chi2 {self.pull:.1f}/{int(self.data_error)}"
        elif self.metric == "sign":
            data = "sign " + ("+" if self.data > 0 else "-")
            pull = "sign agrees" if self.pull == 0 else "sign differs"
        else:
            data = f"{num(self.data)} +- {self.data_error:.2g}"
            pull = f"{self.pull:+.1f}"
        return {"quantity": self.quantity, "unit": self.unit, "model": model, "data": data,
                "pull": pull, "source": self.source, "choices": self.choices}


@dataclass(frozen=True)
class ComparisonTable:
    """All rows, in the order computed."""

    rows: tuple[ComparisonRow, ...]

    def markdown(self) -> str:
        """A Markdown table."""
        head = "| quantity | unit | model | data | pull / chi2 | source | rests on |"
        lines = [head, "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            f = {k: v.replace("|", "\\|") for k, v in r.formatted().items()}
            lines.append(f"| {f['quantity']} | {f['unit']} | {f['model']} | {f['data']} | "
                         f"{f['pull']} | {f['source']} | {f['choices']} |")
        return "\n".join(lines) + "\n"

    def csv(self) -> str:
        """The rows as CSV (all fields)."""
        buf = io.StringIO()
        names = list(asdict(self.rows[0]))
        w = csv.DictWriter(buf, fieldnames=names)
        w.writeheader()
        for r in self.rows:
            w.writerow(asdict(r))
        return buf.getvalue()


def _pull(model: float, model_err: float, data: float, data_err: float) -> float:
    return (model - data) / math.hypot(data_err, model_err)


# -- rows ---------------------------------------------------------------------------------------
def alice_coherent_rows() -> list[ComparisonRow]:
    """Shape (free normalisation, full covariance) and absolute size of ALICE coherent |t|."""
    from upclens.published.posterior import radius_posterior

    pb = Nucleus.from_preset("Pb208")
    post = radius_posterior(radius=np.array([pb.R]), sigma_scale=np.array([1.0]),
                            gluon_width=np.array([0.0]))
    from upclens.compare import read_alice_coherent
    from upclens.compare_incoherent import _bin_nodes
    from upclens.physics.tspectrum import coherent_tspectrum

    d = read_alice_coherent()
    lo, hi = d["t_low_GeV2"], d["t_high_GeV2"]
    w = hi - lo
    data_sigma = float(np.sum(d["dsigma_dt_mb_per_GeV2"] * w)) * 1e3
    unc = float(np.sqrt(np.sum((d["stat"] ** 2 + d["syst_uncorr"] ** 2) * w**2))) * 1e3
    corr = float(np.sum(np.hypot(d["syst_corr"], d["syst_photonflux"]) * w)) * 1e3
    nodes, weights = _bin_nodes(lo, hi, 8)
    model_bins = np.sum(weights * coherent_tspectrum(pb, nodes, 5020.0, 0.0), axis=1)
    model_sigma = float(np.sum(model_bins * w)) * 1e3
    src = "ALICE, PLB 817 (2021) 136280, arXiv:2101.04623"
    return [
        ComparisonRow("coherent J/psi |t| shape, Pb-Pb 5.02 TeV, |y| < 0.8", "mb/GeV^2",
                      math.nan, 0.0, math.nan, 5.0, post.chi2_min, "chi2/ndf", src,
                      "gamma Pb at y = 0, Woods-Saxon Pb without skin, quantum Glauber, VMD "
                      "sigma_VN; free normalisation; full covariance (corr and flux syst fully "
                      "correlated)"),
        ComparisonRow("coherent sigma(gamma Pb -> J/psi Pb), |t| < 0.0121 GeV^2", "mub",
                      model_sigma, 0.0, data_sigma, math.hypot(unc, corr),
                      _pull(model_sigma, 0.0, data_sigma, math.hypot(unc, corr)), "pull", src,
                      "photonuclear (ALICE's flux-corrected numbers), y = 0, no shadowing "
                      "beyond Glauber"),
    ]


def skin_row() -> ComparisonRow:
    """The Pb208 radius preferred by ALICE coherent |t| (grid posterior), read as a neutron
    skin, against PREX-II."""
    from upclens.published.posterior import radius_posterior

    post = radius_posterior()
    prex = read_reference("prex2_208Pb_neutron_skin.csv")
    i = next(k for k, q in enumerate(prex["quantity"]) if q.startswith("Rn-Rp"))
    value, err = float(prex["value"][i]), float(prex["uncertainty"][i])
    lo, hi = post.skin_interval
    return ComparisonRow(
        "Pb208 skin equivalent of the radius ALICE coherent |t| prefers, vs PREX-II", "fm",
        post.skin_mean, post.skin_sd, value, err,
        _pull(post.skin_mean, post.skin_sd, value, err), "pull",
        "ALICE PLB 817 (2021) 136280; PREX-II PRL 126 (2021) 172502, arXiv:2102.10767",
        f"grid posterior, flat priors: Woods-Saxon R of all nucleons 6.4-7.4 fm (posterior "
        f"{post.radius_mean:.2f} +- {post.radius_sd:.2f} fm, preset 6.62), sigma_VN scale "
        f"0.4-1.2, B_G 0-8 GeV^-2 (posterior {post.gluon_width_mean:.1f} +- "
        f"{post.gluon_width_sd:.1f}: prior-dominated), free normalisation, full covariance; "
        f"skin 68 % interval {lo:.2f}-{hi:.2f} fm; chi2 {post.chi2_min:.1f} (best) vs "
        f"{post.chi2_preset:.1f} (preset R); reads any broadening of the gluon profile as skin")


def alice_incoherent_row() -> ComparisonRow:
    """ALICE incoherent |t|: absolute chi2 of the nucleon Good-Walker model."""
    from upclens.compare_incoherent import compare_alice_incoherent

    r = compare_alice_incoherent()
    return ComparisonRow(
        "incoherent J/psi |t|, Pb-Pb 5.02 TeV, 0.04 < |t| < 1 GeV^2", "mub/GeV^2", math.nan,
        0.0, math.nan, 5.0, r.chi2_absolute, "chi2/ndf",
        "ALICE, PRL 132 (2024) 162302, arXiv:2305.06169",
        f"Good-Walker over 400 nucleon configurations, B_G = 4 GeV^-2, no hot spots, absolute; "
        f"slope model {r.slope_model:.2f} vs data {r.slope_data:.2f} +- "
        f"{r.slope_data_error:.2f} GeV^-2; data/model {r.scale:.2f}")


def alice_forward_row() -> ComparisonRow:
    """ALICE 2.76 TeV forward coherent J/psi d sigma/dy."""
    from upclens.published.crosssection import UpcNormalisation

    ref = read_reference("alice_2013_coherent_jpsi_forward_PbPb2760.csv")
    data = float(ref["value_mb"][0])
    err = math.hypot(float(ref["stat_mb"][0]),
                     0.5 * (float(ref["syst_up_mb"][0]) + float(ref["syst_down_mb"][0])))
    norm = UpcNormalisation(Nucleus.from_preset("Pb208"), 2760.0, "jpsi", "any")
    y = np.linspace(-3.6, -2.6, 5)
    model = float(np.trapezoid(norm.dsigma_dy(y).dsigma_dy, y))  # over a unit rapidity range
    return ComparisonRow(
        "coherent J/psi d sigma/dy, Pb-Pb 2.76 TeV, -3.6 < y < -2.6", "mb", model, 0.0, data,
        err, _pull(model, 0.0, data, err), "pull",
        "ALICE, PLB 718 (2013) 1273, arXiv:1209.3715",
        "photon flux x sigma(gamma Pb) at both photon energies, P_noHad, all neutron classes; "
        "quantum Glauber, VMD sigma_VN, no gluon shadowing; syst symmetrised")


def star_rho_cross_section_row() -> ComparisonRow:
    """STAR coherent rho0 cross section in Au+Au at 200 GeV."""
    from upclens.published.crosssection import UpcNormalisation

    ref = read_reference("star_2008_rho0_coherent_xsec_AuAu200.csv")
    data = float(ref["value"][0])
    err = math.hypot(float(ref["stat"][0]), float(ref["syst"][0]))
    model = UpcNormalisation(Nucleus.from_preset("Au197"), 200.0, "rho0", "any").total()
    return ComparisonRow(
        "coherent rho0 cross section, Au+Au 200 GeV (all neutron classes)", "mb", model, 0.0,
        data, err, _pull(model, 0.0, data, err), "pull",
        "STAR, PRC 77 (2008) 034910, arXiv:0712.3320",
        "int dy over |y| < y_beam of flux x sigma(gamma Au -> rho0 Au) at the pole mass, "
        "P_noHad, class 'any' (STAR's extrapolation to all classes); quantum Glauber, VMD "
        "sigma_rhoN ~ 24 mb")


def star_interference_row() -> ComparisonRow:
    """STAR two-source interference strength (XnXn, y = 0)."""
    from upclens.published.rho_star import model_interference_strength

    ref = read_reference("star_2009_rho0_two_source_interference.csv")
    data = float(ref["value"][0])
    err = math.hypot(float(ref["stat"][0]), float(ref["syst"][0]))
    fit = model_interference_strength(Nucleus.from_preset("Au197"), INTERFERENCE_T_EDGES)
    return ComparisonRow(
        "rho0 two-source interference strength c (1 = expected), Au+Au 200 GeV", "-",
        fit.strength, fit.error, data, err, _pull(fit.strength, fit.error, data, err), "pull",
        "STAR, PRL 102 (2009) 112301, arXiv:0812.1063 (to verify)",
        "model (vector photons, pointwise flux) fitted with R(t) of the scalar, centre-flux "
        "calculation (STARlight's) times its no-interference shape, 0 < t < 0.01 GeV^2, XnXn, "
        "y = 0; model error: the fit's for 10^4 events")


def star_radius_rows() -> list[ComparisonRow]:
    """Woods-Saxon radii fitted to the model's rho0 |t| spectra of Au and U."""
    from upclens.published.rho_star import fit_radius, rho_spectrum

    ref = read_reference("star_2023_sciadv_rho0_strong_interaction_radii.csv")
    rows = []
    for i, (name, preset) in enumerate((("Au", "Au197"), ("U", "U238"))):
        nucleus = Nucleus.from_preset(preset)
        spec = rho_spectrum(nucleus, RHO_T_EDGES)
        fit = fit_radius(spec, nucleus.a, RADIUS_T_WINDOW)
        data, err = float(ref["radius_fm"][i]), float(ref["uncertainty_fm"][i])
        rows.append(ComparisonRow(
            f"rho0 strong-interaction radius of {name}", "fm", fit.radius, 0.0, data, err,
            _pull(fit.radius, 0.0, data, err), "pull",
            "STAR, Sci. Adv. 9 (2023) eabq3903, arXiv:2204.01625",
            f"Woods-Saxon |F(t)|^2 (a = {nucleus.a} fm fixed) fitted for R to the model's "
            f"XnXn y = 0 spectrum, {RADIUS_T_WINDOW[0]} < |t| < {RADIUS_T_WINDOW[1]} GeV^2, "
            f"Poisson weights; preset R = {nucleus.R} fm; STAR's exact fit window not read"))
    return rows


def star_cos2_rows(n_events: int = 100_000) -> list[ComparisonRow]:
    """Sign (and size) of <cos 2 Delta phi> of J/psi -> e+e- and rho0 -> pi+pi- in Au+Au."""
    from upclens.observables.events import cos2_study

    ref = read_reference("star_2026_jpsi_spin_interference_cos2phi.csv")
    rows = []
    for meson, channel, pt_max, data_sign, src, extra in (
            ("jpsi", "ee", float(ref["pT_max_MeV"][0]) * 1e-3, -1.0,
             "STAR, PRL 136 (2026) 242302, arXiv:2512.02865",
             f"; measured: negative at {float(ref['significance_sigma'][0])} sigma "
             f"(an unverified a2 = {float(ref['a2_peak_UNVERIFIED'][0])})"),
            ("rho0", "pipi", 0.1, +1.0,
             "STAR, Sci. Adv. 9 (2023) eabq3903, arXiv:2204.01625 (sign opposite to J/psi)",
             "")):
        res = cos2_study(meson, channel, [0.0, pt_max], n=n_events)
        acc = res["star acceptance"]
        smeared = res["star acceptance + resolution"]
        a2 = 2.0 * float(acc.value[0])
        rows.append(ComparisonRow(
            f"{meson} cos 2 Delta phi amplitude a2 (1 + a2 cos 2 Delta phi), pT < "
            f"{pt_max:.2f} GeV, Au+Au 200 GeV", "-", a2, 2.0 * float(acc.error[0]), data_sign,
            0.0, 0.0 if np.sign(a2) == data_sign else 1.0, "sign", src,
            f"events at y = 0, STAR acceptance, true momenta, all classes; with STAR's "
            f"momentum resolution a2 = {2.0 * float(smeared.value[0]):+.3f}{extra}"))
    return rows


def star_suppression_row() -> ComparisonRow:
    """Coherent J/psi on Au relative to the impulse approximation at W = 25 GeV."""
    from upclens.physics.kinematics import photon_energy
    from upclens.published.crosssection import photonuclear_cross_section

    ref = read_reference("star_2024_jpsi_nuclear_suppression_AuAu_UPC.csv")
    data, err = float(ref["value"][0]), float(ref["uncertainty"][0])
    au = Nucleus.from_preset("Au197")
    omega = photon_energy(0.0, 1)
    glauber = photonuclear_cross_section(au, omega, 200.0, "jpsi")
    impulse = photonuclear_cross_section(au, omega, 200.0, "jpsi", glauber=False)
    model = glauber / impulse
    return ComparisonRow(
        "coherent J/psi on Au / impulse approximation, W = 25 GeV", "-", model, 0.0, data, err,
        _pull(model, 0.0, data, err), "pull",
        "STAR, PRC 110 (2024) 014911 (article number to verify), arXiv:2311.13632",
        "sigma(quantum Glauber) / sigma(Gamma = T), both with the Woods-Saxon form factor and "
        "t_min, y = 0; read as a cross-section ratio")


ROW_BUILDERS = ("alice_coherent_rows", "skin_row", "alice_incoherent_row", "alice_forward_row",
                "star_rho_cross_section_row", "star_interference_row", "star_radius_rows",
                "star_cos2_rows", "star_suppression_row")


def compare_published(builders: tuple[str, ...] | None = None) -> ComparisonTable:
    """Every row (about 21 CPU seconds), or those of ``builders`` (names of
    :data:`ROW_BUILDERS`, in that order)."""
    from upclens.errors import check_choice

    for name in builders or ():
        check_choice("comparison row", name, ROW_BUILDERS)
    rows: list[ComparisonRow] = []
    for name in ROW_BUILDERS if builders is None else builders:
        out = globals()[name]()
        rows.extend(out if isinstance(out, list) else [out])
    return ComparisonTable(rows=tuple(rows))


def write_table(table: ComparisonTable, out: str | Path) -> list[Path]:
    """comparison.md, comparison.csv and comparison.json in folder ``out`` (atomically)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (("comparison.md", table.markdown()), ("comparison.csv", table.csv()),
                       ("comparison.json", json.dumps([asdict(r) for r in table.rows],
                                                      indent=1))):
        path = folder / name
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        written.append(path)
    return written
