"""CLI commands ``upclens fisher`` (the Cramer-Rao bound at one parameter point) and
``upclens headline`` (the smallest N_J/psi for a target precision on Delta r_np)."""

from __future__ import annotations

import argparse
import math
import sys

from upclens.argtypes import integer as _integer
from upclens.argtypes import number as _number
from upclens.errors import ParameterError
from upclens.physics.commands import add_model_arguments, switches_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fisher``, ``headline`` and ``event-fisher``."""
    _register_headline(sub)
    _register_event_fisher(sub)
    p = sub.add_parser(
        "fisher",
        description="Fisher matrix of the (px, py) image of N J/psi drawn from the exact "
                    "orientation-averaged distribution, and the Cramer-Rao bound "
                    "sqrt(diag(I^-1)) with nuisance parameters marginalised.")
    g = p.add_argument_group("parameter point")
    g.add_argument("--nucleus", default="Zr96", help="preset (default Zr96)")
    g.add_argument("--beta2", type=_number, help="quadrupole deformation (default: preset)")
    g.add_argument("--beta3", type=_number, help="octupole deformation (default: preset)")
    g.add_argument("--delta-rnp", type=_number, default=0.0,
                   help="neutron skin r_rms(n) - r_rms(p) in fm (default 0)")
    g.add_argument("--skin-type", default="halo", choices=("halo", "skin"),
                   help="how the skin is made (default halo)")
    g.add_argument("--radius", type=_number, help="proton Woods-Saxon R in fm (default: preset)")
    g.add_argument("--diffuseness", type=_number,
                   help="proton Woods-Saxon a in fm (default: preset)")
    add_model_arguments(p)
    r = p.add_argument_group("measurement")
    r.add_argument("--n-events", type=_number, default=1e4,
                   help="number of J/psi in the image window (default 1e4)")
    r.add_argument("--background", type=_number, default=0.0,
                   help="incoherent share of the events in the window (default 0)")
    r.add_argument("--smearing", type=_number, default=0.0,
                   help="Gaussian pT resolution on px and py in GeV (default 0)")
    r.add_argument("--b", type=_number, default=15.0, help="|b| in fm (default 15)")
    r.add_argument("--b-direction", default="fixed", choices=("fixed", "random"),
                   help="b along px, or averaged over its direction (default fixed)")
    r.add_argument("--b-magnitude", default="fixed", choices=("fixed", "upc"),
                   help="|b| fixed at --b, or from the UPC distribution (default fixed)")
    r.add_argument("--b-weights", default="physical", choices=("physical", "frozen"),
                   help="with --b-magnitude upc: the |b| weights move with the parameters "
                        "(physical, default) or are held at the point's values (frozen)")
    r.add_argument("--pixels", type=_integer, default=64, help="bins per axis (default 64)")
    r.add_argument("--pmax", type=_number, default=0.2, help="window half-width, GeV (0.2)")
    r.add_argument("--nuisances", default="",
                   help="marginalised nuisances with Gaussian priors: any of R (0.02 fm), "
                        "a (0.01 fm), sigma (20 %%); 'name:width' sets the width")
    r.add_argument("--likelihood", default="multinomial", choices=("multinomial", "poisson"),
                   help="multinomial: N given, shape only (default); poisson: normalisation "
                        "known, the yield adds information")
    r.add_argument("--step", type=_number, default=1.0,
                   help="factor on the default finite-difference steps (default 1)")
    o = p.add_argument_group("output")
    o.add_argument("--n-values", default="1e3,1e4,1e5,1e6",
                   help="N values of the sigma-versus-N table and plot (comma-separated)")
    o.add_argument("--plot", help="write sigma_CRB against N_J/psi (PNG) to this path")
    o.add_argument("--json", help="write the Fisher matrix and bounds (JSON) to this path")
    p.set_defaults(handler=_fisher)


def _register_headline(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "headline",
        description="The smallest number of J/psi at which the Cramer-Rao bound on Delta r_np "
                    "reaches --target, for a fixed and a random b direction, without and "
                    "with background (10 % incoherent, 10 MeV smearing), with the protons "
                    "known and with the priors R +-0.02 fm, a +-0.01 fm, sigma_J/psi-N "
                    "+-20 %.")
    p.add_argument("--out", required=True, help="folder for headline.json, .md and .png")
    p.add_argument("--nucleus", default="Zr96", help="preset (default Zr96)")
    p.add_argument("--beta2", type=_number, default=0.15, help="default 0.15")
    p.add_argument("--beta3", type=_number, default=0.15, help="default 0.15")
    p.add_argument("--delta-rnp", type=_number, default=0.1, help="fm (default 0.1)")
    p.add_argument("--target", type=_number, default=0.05,
                   help="precision goal on Delta r_np in fm (default 0.05)")
    p.set_defaults(handler=_headline)


def _register_event_fisher(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "event-fisher", help="Cramer-Rao bound of (beta2, beta3, Delta r_np) from measured events",
        description="Fisher matrix of the per-event density p(pT, Delta phi, y, neutron class) "
                    "of J/psi, each from its own collision (b direction unknown, |b| from the UPC "
                    "weight times the class probability), with the nuisances R, a, sigma_J/psi-N "
                    "and the incoherent share; one column per added handle, from the image with "
                    "b known to a STAR-like measurement with incoherent production.")
    p.add_argument("--out", required=True,
                   help="folder for event_fisher.json, event_fisher.md, event_fisher.png")
    p.add_argument("--nucleus", default="Zr96", help="preset (default Zr96)")
    p.add_argument("--beta2", type=_number, default=0.15, help="default 0.15")
    p.add_argument("--beta3", type=_number, default=0.15, help="default 0.15")
    p.add_argument("--delta-rnp", type=_number, default=0.1, help="fm (default 0.1)")
    p.add_argument("--sqrt-snn", type=_number, default=200.0, help="GeV (default 200)")
    p.add_argument("--n-values", default="1e4,1e5",
                   help="numbers of J/psi in the window (comma-separated, default 1e4,1e5)")
    p.add_argument("--pt-max", type=_number, default=0.2,
                   help="pT window of the first columns, GeV (default 0.2)")
    p.add_argument("--pt-wide", type=_number, default=0.5,
                   help="the widened pT window, GeV (default 0.5)")
    p.add_argument("--y-max", type=_number, default=1.0,
                   help="rapidity range |y| < y-max of the rapidity column (default 1)")
    p.add_argument("--channel", default="ee", choices=("ee", "mumu"),
                   help="decay read for the daughter angle (default ee)")
    p.add_argument("--detector", default="star",
                   help="acceptance preset of the acceptance column (default star)")
    p.add_argument("--nuisances", default="R,a,sigma",
                   help="nuisances with Gaussian priors: R (0.02 fm), a (0.01 fm), sigma (20 %%); "
                        "'name:width' sets a width (default R,a,sigma)")
    p.add_argument("--incoherent-configurations", type=_integer, default=200,
                   help="nucleon configurations of the incoherent (Good-Walker) background "
                        "(default 200)")
    p.add_argument("--no-step-check", action="store_true",
                   help="skip the derivatives with the doubled step (half the cost)")
    p.add_argument("--coarse", action="store_true",
                   help="coarse orientation and profile grids (a quick look, not for numbers)")
    p.set_defaults(handler=_event_fisher)


def _event_fisher(args: argparse.Namespace) -> int:
    from pathlib import Path

    from upclens.errors import check_range
    from upclens.information.event_fisher import write_event_table
    from upclens.information.events_model import EngineSettings
    from upclens.io import check_writable
    from upclens.physics.numerics import Numerics

    n_values = _n_values(args.n_values)
    check_range("pt_max", args.pt_max, 0.02, 1.0)
    check_range("pt_wide", args.pt_wide, args.pt_max, 1.0)
    check_range("y_max", args.y_max, 0.0, 3.0, lo_open=True)
    check_range("incoherent_configurations", args.incoherent_configurations, 2, 100000)
    from upclens.information.model import normalise_nuisances
    from upclens.physics.detector import detector
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.settings import Collision

    detector(args.detector)
    normalise_nuisances(args.nuisances)
    point = {"beta2": args.beta2, "beta3": args.beta3, "delta_rnp": args.delta_rnp}
    Nucleus.from_preset(args.nucleus, **point)  # refuses a bad shape before any folder exists
    Collision(sqrt_snn=args.sqrt_snn)
    numerics = (Numerics(n_orient_cos=8, n_orient_azimuth=16, dx=0.7) if args.coarse
                else Numerics())
    engine = EngineSettings(nucleus=args.nucleus, sqrt_snn=args.sqrt_snn, pt_max=args.pt_wide,
                            y_max=args.y_max, numerics=numerics)
    check_writable(Path(args.out) / "event_fisher.json", "out", make_parents=True)
    table = write_event_table(args.out, point, engine, n_values=n_values,
                              nuisances=args.nuisances, pt_max=args.pt_max,
                              detector_name=args.detector, channel=args.channel,
                              n_configurations=args.incoherent_configurations,
                              check_step=not args.no_step_check)
    sys.stdout.write(table["markdown"] + f"wrote {args.out}/event_fisher.json, .md, .png\n")
    return 0


def _headline(args: argparse.Namespace) -> int:
    from pathlib import Path

    from upclens.errors import check_range
    from upclens.information.headline import write_headline
    from upclens.information.model import InformationSettings
    from upclens.io import check_folder, check_writable
    from upclens.physics.nucleus import Nucleus

    check_range("target", args.target, 0.0, 1.0, lo_open=True)
    check_folder(args.out, "out")
    settings = InformationSettings(nucleus=args.nucleus)
    Nucleus.from_preset(settings.nucleus, beta2=args.beta2, beta3=args.beta3,
                        delta_rnp=args.delta_rnp)  # the point is refused before any file
    check_writable(Path(args.out) / "headline.json", "out", make_parents=True)
    table = write_headline(args.out, {"beta2": args.beta2, "beta3": args.beta3,
                                      "delta_rnp": args.delta_rnp}, settings, args.target)
    sys.stdout.write(table["markdown"] + f"wrote {args.out}/headline.json, .md, .png\n")
    return 0


def _n_values(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ParameterError("n_values", text, "must be comma-separated numbers") from None
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise ParameterError("n_values", text, "must be positive finite numbers")
    return values


def _fisher(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from upclens.information.crb import fisher_matrix
    from upclens.information.fisher import sigma_fixed, sigma_versus_n
    from upclens.information.model import InformationSettings
    from upclens.io import check_png_path, check_writable, write_json

    if args.plot:
        check_png_path(args.plot, "plot")
    if args.json:
        check_writable(args.json, "json")
    n_values = _n_values(args.n_values)
    if args.b_weights == "frozen" and args.b_magnitude != "upc":
        raise ParameterError("b_weights", "frozen", "applies only to a UPC |b| distribution "
                             "(--b-magnitude upc); a fixed |b| has no weights")
    try:
        settings = InformationSettings.build(
            args.nucleus, b=args.b, b_direction=args.b_direction, b_magnitude=args.b_magnitude,
            sqrt_snn=args.sqrt_snn, pixels=args.pixels, pmax=args.pmax,
            incoherent_fraction=args.background, smearing=args.smearing,
            likelihood=args.likelihood, skin_type=args.skin_type, b_weights=args.b_weights,
            switches=switches_from_args(args))
    except ParameterError as exc:  # the API's name of --background
        if exc.name != "incoherent_fraction":
            raise
        raise ParameterError("background", exc.value, exc.allowed) from None
    settings = replace(settings, collision=replace(settings.collision, rapidity=args.rapidity))
    point = {"beta2": args.beta2, "beta3": args.beta3, "delta_rnp": args.delta_rnp,
             "R": args.radius, "a": args.diffuseness}
    res = fisher_matrix({k: v for k, v in point.items() if v is not None}, settings,
                        args.n_events, args.nuisances, step=args.step)
    known = sigma_fixed(res, list(res.priors))
    out = sys.stdout
    b_text = (f"UPC |b| ({args.b_weights} weights)" if args.b_magnitude == "upc"
              else f"|b| = {args.b:g} fm")
    out.write(f"{settings.nucleus}, sqrt(sNN) = {args.sqrt_snn:g} GeV, y = {args.rapidity:g}, "
              f"{_model_text(settings.switches)}, {b_text}, "
              f"{args.b_direction} b direction, "
              f"{args.pixels}x{args.pixels} pixels, |p| < {args.pmax:g} GeV, background "
              f"{args.background:g}, smearing {args.smearing:g} GeV, {res.likelihood}, "
              f"N = {res.n_events:g}\n")
    out.write(f"{'parameter':<16}{'value':>10}{'sigma_CRB':>12}{'nuis. known':>13}"
              f"{'prior':>9}{'step change':>13}\n")
    for name in res.names:
        base = name.removesuffix("_squared")
        value = res.point[base] ** 2 if name != base else res.point[name]
        prior = res.priors.get(name)
        out.write(f"{name:<16}{value:>10.4g}{_fmt(res.sigma_crb[name]):>12}"
                  f"{_fmt(known.get(name, math.nan)):>13}"
                  f"{('' if prior is None else f'{prior:g}'):>9}"
                  f"{_fmt(res.step_change[name], '.1e'):>13}\n")
    for note in res.notes:
        out.write(f"note: {note}\n")
    curves = {"n_events": n_values, "sigma_crb": sigma_versus_n(res, n_values)}
    out.write("sigma_CRB versus N_J/psi:\n" + f"{'N':>10}" +
              "".join(f"{n:>16}" for n in res.names) + "\n")
    for i, n in enumerate(n_values):
        out.write(f"{n:>10.3g}" + "".join(f"{_fmt(curves['sigma_crb'][k][i]):>16}"
                                          for k in res.names) + "\n")
    if args.json:
        data = res.to_dict()
        data["sigma_nuisances_known"] = known
        data["versus_n"] = {"n_events": n_values, "sigma_crb": curves["sigma_crb"]}
        data["settings"] = _settings_dict(settings)
        write_json(data, args.json, indent=1)
        out.write(f"wrote {args.json}\n")
    if args.plot:
        from upclens.information.plot import plot_crb_versus_n

        names = [n for n in ("beta2", "beta3", "beta3_squared", "delta_rnp") if n in res.names]
        plot_crb_versus_n(curves, names=names, path=args.plot)
        out.write(f"wrote {args.plot}\n")
    return 0


def _model_text(switches) -> str:
    """The model switches in words, e.g. 'linear Gamma = T, uniform flux, scalar'."""
    parts = ["quantum Glauber" if switches.glauber else "linear Gamma = T",
             f"{switches.flux} flux", switches.polarization]
    if switches.coherence_phase:
        parts.append("q_z phase")
    if switches.sigma_vn_scale != 1.0:
        parts.append(f"sigma_VN x {switches.sigma_vn_scale:g}")
    return ", ".join(parts)


def _fmt(x: float, spec: str = ".4g") -> str:
    return format(x, spec) if math.isfinite(x) else ("undefined" if math.isinf(x) else "-")


def _settings_dict(settings) -> dict:
    from dataclasses import asdict

    return asdict(settings)
