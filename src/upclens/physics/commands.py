"""CLI commands of the physics engine: ``simulate`` and ``tspectrum``."""

from __future__ import annotations

import argparse
import math
import sys

from upclens.argtypes import integer as _integer
from upclens.argtypes import number as _number
from upclens.errors import ParameterError, check_range


def add_nucleus_arguments(p: argparse.ArgumentParser) -> None:
    """Flags that define a nucleus (shared by commands)."""
    g = p.add_argument_group("nucleus")
    g.add_argument("--nucleus", default="Zr96",
                   help="preset: Zr96, Ru96, Au197, Pb208, U238 (default Zr96)")
    g.add_argument("--beta2", type=_number, help="quadrupole deformation (default: preset)")
    g.add_argument("--beta3", type=_number, help="octupole deformation |beta3| (default: preset)")
    g.add_argument("--beta4", type=_number, help="hexadecapole deformation (default: preset)")
    g.add_argument("--delta-rnp", type=_number, default=0.0,
                   help="neutron skin r_rms(n) - r_rms(p) in fm (default 0)")
    g.add_argument("--skin-type", default="halo", choices=("halo", "skin"),
                   help="halo: a_n = a_p + da; skin: R_n = R_p + dR (default halo)")
    g.add_argument("--radius", type=_number, help="Woods-Saxon radius R in fm (default: preset)")
    g.add_argument("--diffuseness", type=_number,
                   help="Woods-Saxon diffuseness a in fm (default: preset)")


def nucleus_from_args(args: argparse.Namespace):
    """Build the Nucleus named by the flags of :func:`add_nucleus_arguments`."""
    from upclens.physics.nucleus import Nucleus

    return Nucleus.from_preset(args.nucleus, beta2=args.beta2, beta3=args.beta3,
                               beta4=args.beta4, delta_rnp=args.delta_rnp,
                               skin_type=args.skin_type, R=args.radius, a=args.diffuseness)


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Flags for the physics switches and the collision."""
    g = p.add_argument_group("model")
    g.add_argument("--sqrt-snn", type=_number, default=200.0,
                   help="nucleon-nucleon energy in GeV (default 200)")
    g.add_argument("--rapidity", type=_number, default=0.0, help="J/psi rapidity (default 0)")
    g.add_argument("--linear", action="store_true",
                   help="linear (impulse) profile Gamma = T instead of quantum Glauber")
    g.add_argument("--no-flux", action="store_true",
                   help="uniform photon flux over the target instead of point by point")
    g.add_argument("--vector", action="store_true",
                   help="linearly polarised (vector) photon field instead of the scalar form")
    g.add_argument("--qz", action="store_true", help="include the coherence phase exp(i q_z z)")
    g.add_argument("--sigma-vn-scale", type=_number, default=1.0,
                   help="multiply sigma(J/psi N) from VMD by this factor (default 1)")


def switches_from_args(args: argparse.Namespace):
    """ModelSwitches from the flags of :func:`add_model_arguments`."""
    from upclens.physics.settings import ModelSwitches

    return ModelSwitches(glauber=not args.linear, flux="uniform" if args.no_flux else "pointwise",
                         polarization="vector" if args.vector else "scalar",
                         coherence_phase=args.qz, sigma_vn_scale=args.sigma_vn_scale)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``simulate`` and ``tspectrum``."""
    p = sub.add_parser("simulate",
                       description="Simulate one coherent J/psi (px, py) image and write it as "
                                   ".npz (px, py in GeV, intensity[iy, ix] in GeV^-2, config).")
    add_nucleus_arguments(p)
    add_model_arguments(p)
    g = p.add_argument_group("impact parameter and image")
    g.add_argument("--b", type=_number, default=15.0, help="|b| in fm (default 15)")
    g.add_argument("--b-angle", type=_number, default=0.0,
                   help="direction of b from the px axis in rad (default 0)")
    g.add_argument("--b-upc", action="store_true",
                   help="draw |b| from the UPC distribution instead of a fixed --b")
    g.add_argument("--random-b-direction", action="store_true",
                   help="average over the direction of b")
    g.add_argument("--pixels", type=_integer, default=64, help="bins per axis (default 64)")
    g.add_argument("--pmax", type=_number, default=0.2,
                   help="window half-width in GeV (default 0.2)")
    mode = g.add_mutually_exclusive_group()
    mode.add_argument("--exact", action="store_true",
                      help="exact infinite-orientation average (default)")
    mode.add_argument("--orientations", type=_integer,
                      help="average over N sampled orientation pairs instead")
    g.add_argument("--events", type=_integer,
                   help="draw this many J/psi from the image and store the histogram")
    g.add_argument("--incoherent-fraction", type=_number, default=0.0,
                   help="incoherent share of the events in the window (default 0)")
    g.add_argument("--smearing", type=_number, default=0.0,
                   help="Gaussian pT resolution in GeV on px and py (default 0)")
    g.add_argument("--seed", type=_integer, default=0, help="random seed (default 0)")
    g.add_argument("--out", required=True, help="output .npz path")
    g.add_argument("--plot", help="also write a PNG figure of the image to this path")
    p.set_defaults(handler=_simulate)

    t = sub.add_parser("tspectrum",
                       description="Coherent single-nucleus d sigma/d|t| (arbitrary "
                                   "normalisation) as CSV with header t_GeV2,dsigma_dt.")
    add_nucleus_arguments(t)
    add_model_arguments(t)
    t.set_defaults(sqrt_snn=5020.0)
    t.add_argument("--tmax", type=_number, default=0.05, help="largest |t| in GeV^2")
    t.add_argument("--points", type=_integer, default=200, help="number of |t| values")
    t.add_argument("--out", required=True, help="output CSV path")
    t.set_defaults(handler=_tspectrum)


def _simulate(args: argparse.Namespace) -> int:
    from upclens.io import check_writable
    from upclens.physics.image import DoubleSlit
    from upclens.physics.settings import Collision, ImageGrid

    check_writable(args.out)
    if args.plot:
        check_writable(args.plot, "plot")
    nucleus = nucleus_from_args(args)
    collision = Collision(sqrt_snn=args.sqrt_snn, rapidity=args.rapidity, b=args.b,
                          b_angle=args.b_angle, b_magnitude="upc" if args.b_upc else "fixed",
                          b_direction="random" if args.random_b_direction else "fixed")
    grid = ImageGrid(pixels=args.pixels, pmax=args.pmax)
    if args.orientations is not None:
        check_range("orientations", args.orientations, 1, 10**7)
    sim = DoubleSlit(nucleus, collision, switches_from_args(args), grid)
    image = sim.image(args.orientations, seed=args.seed)
    if args.events is not None:
        _apply_events(image, sim, args)
    image.save_npz(args.out)
    if args.plot:
        from upclens.plots import save_image_figure

        save_image_figure(image, args.plot)
    print(f"wrote {args.out}")
    return 0


def _apply_events(image, sim, args: argparse.Namespace) -> None:
    import numpy as np

    from upclens.physics.events import event_image

    check_range("events", args.events, 1, 1e9)
    # Seeded independently of the orientation stream, from the same user seed.
    rng = np.random.default_rng([args.seed, 1])
    counts = event_image(image.intensity, sim.grid, args.events, rng,
                         args.incoherent_fraction, args.smearing, sim.profile)
    image.config["events"] = {"n_events": args.events,
                              "incoherent_fraction": args.incoherent_fraction,
                              "smearing_GeV": args.smearing}
    image.intensity = counts


def _tspectrum(args: argparse.Namespace) -> int:
    import numpy as np

    from upclens.io import atomic_path, check_writable
    from upclens.physics.tspectrum import coherent_tspectrum

    check_writable(args.out)
    check_range("tmax", args.tmax, 0.0, 2.0, lo_open=True)
    check_range("points", args.points, 2, 100000)
    if not math.isfinite(args.sqrt_snn):
        raise ParameterError("sqrt_snn", args.sqrt_snn, "must be a finite number")
    t = np.linspace(0.0, args.tmax, args.points)
    spec = coherent_tspectrum(nucleus_from_args(args), t, sqrt_snn=args.sqrt_snn,
                              rapidity=args.rapidity, switches=switches_from_args(args))
    with atomic_path(args.out, suffix=".csv") as tmp:
        np.savetxt(tmp, np.column_stack([t, spec]), delimiter=",", header="t_GeV2,dsigma_dt",
                   comments="", fmt="%.10g")
    sys.stdout.write(f"wrote {args.out}\n")
    return 0
