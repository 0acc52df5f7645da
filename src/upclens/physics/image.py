"""Two-source (double-slit) J/psi images: exact orientation averages and finite samples.

Nucleus 1 sits at +b/2, nucleus 2 at -b/2; each is a target for the other's photons:
    A~(p) = G_1(p) exp(+i p.b / 2 hbar c) + G_2(p) exp(-i p.b / 2 hbar c),
    d^2N/dpx dpy ~ sum_c |A~_c(p)|^2.
A rotation by pi about the beam axis maps the target-2 configuration onto the target-1 one, with
the photon field reversed and the coherence phase conjugated, so that
    G_2(p; n) = SECOND_SOURCE_SIGN * conj(G_1'(p; R_pi n)),
where G_1' is the target-1 amplitude with the kinematics of target 2 (identical at y = 0).
Because the two orientations are independent, the infinite-orientation average is exactly
    <I> = sum_c <|G_1c|^2> + <|G_2c|^2> + 2 Re[<G_1c> conj(<G_2c>) exp(i p.b / hbar c)].
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from scipy.interpolate import BarycentricInterpolator
from scipy.ndimage import map_coordinates

from upclens import __version__
from upclens.errors import ParameterError, check_choice, check_range
from upclens.io import atomic_path
from upclens.physics.amplitude import TargetAmplitude
from upclens.physics.closed_form import closed_form_intensity
from upclens.physics.constants import HBARC
from upclens.physics.impact import ImpactParameterDistribution
from upclens.physics.kinematics import TargetKinematics, lorentz_gamma, sigma_nn_inelastic_fm2
from upclens.physics.mesons import meson as get_meson
from upclens.physics.nucleus import Nucleus, density_profile
from upclens.physics.numerics import Numerics
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches

# The field of nucleus 1 seen by target 2 points along -b where that of nucleus 2 seen by target 1
# points along +b: the negative parity of the photon gives the relative minus sign of the sources.
SECOND_SOURCE_SIGN = -1.0


@dataclass
class Image:
    """A (px, py) image: bin centres ``px``, ``py`` (GeV), ``intensity[iy, ix]`` (GeV^-2,
    normalised to unit integral over the window) and the configuration that made it."""

    px: np.ndarray
    py: np.ndarray
    intensity: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)

    def save_npz(self, path: str) -> None:
        """Write px, py, intensity and the JSON configuration atomically."""
        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, px=self.px, py=self.py, intensity=self.intensity,
                                config=json.dumps(self.config))

    @classmethod
    def load_npz(cls, path: str) -> Image:
        """Read an image written by :meth:`save_npz`; anything else is refused with one line
        (ParameterError) naming the file and what is wrong."""
        from upclens.errors import ParameterError
        from upclens.io import read_npz

        data = read_npz(path, "image", ("px", "py", "intensity", "config"))
        px, py, inten = data["px"], data["py"], data["intensity"]
        if px.ndim != 1 or py.ndim != 1 or px.size < 2 or py.size < 2:
            raise ParameterError("image", str(path), "px and py must be 1-d axes of >= 2 bins")
        if inten.ndim != 2 or inten.shape != (py.size, px.size):
            raise ParameterError("image", str(path), f"intensity of shape {inten.shape} must be "
                                 f"(len(py), len(px)) = ({py.size}, {px.size})")
        if not (np.issubdtype(inten.dtype, np.number) and np.isfinite(inten).all()):
            raise ParameterError("image", str(path), "intensity must be finite numbers")
        try:
            config = json.loads(str(data["config"]))
        except ValueError:
            config = None
        if not isinstance(config, dict):
            raise ParameterError("image", str(path), "config must be a JSON table (as "
                                 "upclens simulate writes it)")
        return cls(px=px, py=py, intensity=inten, config=config)


def isotropic_axes(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` unit vectors uniform on the sphere: cos(beta) = 1 - 2u, alpha = 2 pi v."""
    cos_b = 1.0 - 2.0 * rng.random(n)
    alpha = 2.0 * math.pi * rng.random(n)
    sin_b = np.sqrt(1.0 - cos_b**2)
    return np.stack([sin_b * np.cos(alpha), sin_b * np.sin(alpha), cos_b], axis=1)


def orientation_quadrature(numerics: Numerics, z_symmetric: bool,
                           mirror: bool) -> tuple[np.ndarray, np.ndarray]:
    """Deterministic nodes (M, 3) and weights (sum 1) for averages over isotropic axes.

    Gauss-Legendre in cos(beta) times a uniform azimuth grid.  ``z_symmetric``: only
    cos(beta) >= 0 (T is even under n_z -> -n_z without the coherence phase).  ``mirror``: only
    alpha in [0, pi]; the caller adds the reflection y -> -y of each node's contribution.
    """
    c, wc = np.polynomial.legendre.leggauss(numerics.n_orient_cos)
    if z_symmetric:
        keep = c > 0
        c, wc = c[keep], 2.0 * wc[keep]
    wc = wc / wc.sum()
    n_az = numerics.n_orient_azimuth
    if mirror:
        k = np.arange(n_az // 2 + 1)
        wa = np.where((k == 0) | (k == n_az // 2), 1.0, 2.0) / n_az
    else:
        k = np.arange(n_az)
        wa = np.full(n_az, 1.0 / n_az)
    alpha = 2.0 * math.pi * k / n_az
    cc, aa = np.meshgrid(c, alpha, indexing="ij")
    ss = np.sqrt(1.0 - cc**2)
    nodes = np.stack([ss * np.cos(aa), ss * np.sin(aa), cc], axis=-1).reshape(-1, 3)
    return nodes, np.outer(wc, wa).ravel()


class DoubleSlit:
    """Precomputed simulator for one (nucleus, collision, switches, grid, numerics)."""

    def __init__(self, nucleus: Nucleus, collision: Collision | None = None,
                 switches: ModelSwitches | None = None, grid: ImageGrid | None = None,
                 numerics: Numerics | None = None, meson: str = "jpsi") -> None:
        self.nucleus = nucleus
        self.meson = get_meson(meson)
        self.collision = collision or Collision()
        self.switches = switches or ModelSwitches()
        self.grid = grid or ImageGrid()
        self.numerics = numerics or Numerics()
        self.profile = density_profile(nucleus, self.numerics)
        col = self.collision
        self.gamma = lorentz_gamma(col.sqrt_snn)
        # Target 1 moves along +z and is hit by the photon of nucleus 2 (moving along -z): for a
        # meson at rapidity y that photon has omega = (M/2) exp(-y); target 2 sees exp(+y).
        self.kin1 = TargetKinematics.build(col.sqrt_snn, col.rapidity, -1,
                                           self.switches.sigma_vn_scale, self.meson)
        self.kin2 = TargetKinematics.build(col.sqrt_snn, col.rapidity, +1,
                                           self.switches.sigma_vn_scale, self.meson)
        self._amps: dict[tuple[int, int], TargetAmplitude] = {}
        self._bdist: ImpactParameterDistribution | None = None

    # -- building blocks ---------------------------------------------------------------------
    def _p_axis(self, extended: bool) -> np.ndarray:
        axis = self.grid.centres
        if not extended:
            return axis
        step = self.grid.step
        reach = math.sqrt(2.0) * self.grid.pmax + 3 * step
        n_half = math.ceil(reach / step)
        return (np.arange(2 * n_half) + 0.5 - n_half) * step

    def amplitude(self, target: int, extended: bool = False) -> TargetAmplitude:
        """Target amplitude in the target-1 frame with the kinematics of ``target`` (1 or 2)."""
        if target == 2 and self.kin2 == self.kin1:
            target = 1
        key = (target, int(extended))
        if key not in self._amps:
            kin = self.kin1 if target == 1 else self.kin2
            self._amps[key] = TargetAmplitude(
                self.profile, kin, self.switches, self.gamma, self.nucleus.Z, self.profile.R_p,
                self._p_axis(extended), self.numerics)
        return self._amps[key]

    @property
    def b_distribution(self) -> ImpactParameterDistribution:
        """The UPC |b| distribution of this collision (built on first use)."""
        if self._bdist is None:
            col = self.collision
            sigma_nn = (col.sigma_nn_mb * 0.1 if col.sigma_nn_mb is not None
                        else sigma_nn_inelastic_fm2(col.sqrt_snn))
            self._bdist = ImpactParameterDistribution.build(
                self.profile, sigma_nn, self.kin1.omega, self.gamma)
        return self._bdist

    def _b_nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """|b| values (fm) and weights of the b average, including 1/n(omega, b) when sampled."""
        if self.collision.b_magnitude == "fixed":
            return np.array([self.collision.b]), np.array([1.0])
        dist = self.b_distribution
        b, w = dist.quadrature(self.numerics.n_b)
        return b, w / dist.flux_at(b)

    # -- exact orientation average -----------------------------------------------------------
    def _ensemble(self, amp: TargetAmplitude, gamma_x: np.ndarray, weights: np.ndarray,
                  emitter: tuple[float, float], mirror: bool,
                  matrix: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """<G_c> (ncomp, Np, Np) and <|G_c|^2> (ncomp, Np, Np) over the quadrature nodes; with
        ``matrix`` the second moment keeps the cross terms, <G_i G_j*> (ncomp, ncomp, Np, Np)."""
        fld = amp.field(emitter)
        mean = 0.0
        square = 0.0
        batch = self.numerics.batch
        for i0 in range(0, len(weights), batch):
            g = amp.amplitudes(gamma_x[i0:i0 + batch], fld)
            w = weights[i0:i0 + batch, None, None, None]
            mean = mean + np.sum(w * g, axis=0)
            if matrix:
                square = square + _weighted_outer(weights[i0:i0 + batch], g)
            else:
                square = square + np.sum(w * (g.real**2 + g.imag**2), axis=0)
        if mirror:
            # Reflection y -> -y of every node: G_c(px, py) -> parity_c G_c(px, -py), with the
            # emitter on the x axis (x component even, y component odd).
            parity = np.array([1.0, -1.0])[: fld.shape[0]]
            mean = 0.5 * (mean + parity[:, None, None] * mean[:, ::-1, :])
            if matrix:
                pp = np.outer(parity, parity)[:, :, None, None]
                square = 0.5 * (square + pp * square[:, :, ::-1, :])
            else:
                square = 0.5 * (square + square[:, ::-1, :])
        return mean, square

    def _moments_over_b(self, amp1: TargetAmplitude, amp2: TargetAmplitude,
                        gammas: tuple[np.ndarray, np.ndarray], weights: np.ndarray,
                        mirror: bool, b_values: np.ndarray, matrix: bool = False,
                        angle: float | None = None) -> Callable[[float], np.ndarray]:
        """A function |b| -> orientation moments (<G_1>, <|G_1|^2>, <G_2>, <|G_2|^2>) along
        ``angle`` (default ``collision.b_angle``) for the |b| of ``b_values``: array
        (4, ncomp, Np, Np), complex; with ``matrix`` the flat stack
        (<G_1> (ncomp), <G_1i G_1j*> (ncomp^2), <G_2>, <G_2i G_2j*>) along axis 0.

        With more |b| nodes than ``numerics.n_b_moments`` the moments are computed at that many
        Chebyshev-Lobatto nodes in 1/b spanning the nodes and interpolated (barycentric): the
        emitter's field, hence each moment, is analytic in 1/b wherever the nucleus has weight,
        while the phase exp(i p.b), which oscillates in b, is applied exactly by the caller.
        """
        angle = self.collision.b_angle if angle is None else angle

        def at(b: float) -> np.ndarray:
            emitter = (-b * math.cos(angle), -b * math.sin(angle))
            m1, s1 = self._ensemble(amp1, gammas[0], weights, emitter, mirror, matrix)
            m2, s2 = (m1, s1) if amp2 is amp1 else self._ensemble(amp2, gammas[1], weights,
                                                                  emitter, mirror, matrix)
            if matrix:
                nc = m1.shape[0]
                return np.concatenate([m1, s1.reshape(nc * nc, *s1.shape[2:]), m2,
                                       s2.reshape(nc * nc, *s2.shape[2:])])
            return np.stack([m1, s1, m2, s2])

        n_mom = self.numerics.n_b_moments
        if b_values.size <= max(n_mom, 1) or n_mom == 0 or np.ptp(b_values) == 0.0:
            return at
        u_lo, u_hi = 1.0 / b_values.max(), 1.0 / b_values.min()
        u_nodes = 0.5 * (u_lo + u_hi) + 0.5 * (u_hi - u_lo) * np.cos(
            math.pi * np.arange(n_mom) / (n_mom - 1))
        interp = BarycentricInterpolator(u_nodes, np.stack([at(1.0 / u) for u in u_nodes]),
                                         axis=0)
        return lambda b: interp(1.0 / b)

    def _exact_moments(self, extended: bool, matrix: bool
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                  Callable[[float], np.ndarray]]:
        """What both exact averages need: the momentum axis (GeV), the |b| nodes and weights and
        the orientation moments as a function of |b| (see ``_moments_over_b``; with ``matrix``
        the second moments keep the field-component cross terms)."""
        mirror = self.collision.b_angle == 0.0
        nodes, weights = orientation_quadrature(
            self.numerics, z_symmetric=not self.switches.coherence_phase, mirror=mirror)
        amp1 = self.amplitude(1, extended)
        amp2 = self.amplitude(2, extended)
        gamma1 = amp1.profiles(nodes)
        gamma2 = gamma1 if amp2 is amp1 else amp2.profiles(nodes)
        b_values, b_weights = self._b_nodes()
        moments_at = self._moments_over_b(amp1, amp2, (gamma1, gamma2), weights, mirror,
                                          b_values, matrix=matrix)
        return amp1.p_axis, b_values, b_weights, moments_at

    def exact_intensity(self, extended: bool = False) -> np.ndarray:
        """Unnormalised infinite-orientation average on the (extended) image grid, b fixed in
        direction ``collision.b_angle``; averaged over |b| when ``b_magnitude`` is 'upc'."""
        angle = self.collision.b_angle
        p, b_values, b_weights, moments_at = self._exact_moments(extended, matrix=False)
        total = 0.0
        for b, wb in zip(b_values, b_weights, strict=True):
            m1, s1, m2, s2 = moments_at(float(b))
            bx, by = b * math.cos(angle), b * math.sin(angle)
            mean2 = SECOND_SOURCE_SIGN * np.conj(m2)
            phase = np.exp(1j * (p[None, :] * bx + p[:, None] * by) / HBARC)
            cross = 2.0 * np.real(m1 * np.conj(mean2) * phase)
            total = total + wb * np.sum(s1.real + s2.real + cross, axis=0)
        return total

    def exact_density_matrix(self, extended: bool = False) -> np.ndarray:
        """Unnormalised spin density matrix rho_ij(p) = <A_i(p) A_j*(p)> of the produced meson,
        i, j over the lab field components (x, y), infinite-orientation average: shape
        (ncomp, ncomp, Np, Np) complex, Hermitian in (i, j), trace = ``exact_intensity``.

        A_i = G_1i h + G_2i h*, h = exp(i p.b / 2 hbar c), and the orientations are independent:
            rho_ij = <G_1i G_1j*> + <G_2i G_2j*> + <G_1i> <G_2j>* e + <G_2i> <G_1j>* e*,
        e = exp(i p.b / hbar c), with G_2 = SECOND_SOURCE_SIGN conj(G_1') (so that
        <G_2i G_2j*> = conj(<G_1i' G_1j'*>)).
        """
        angle = self.collision.b_angle
        p, b_values, b_weights, moments_at = self._exact_moments(extended, matrix=True)
        nc = self.amplitude(1, extended).n_components
        total = 0.0
        for b, wb in zip(b_values, b_weights, strict=True):
            bx, by = b * math.cos(angle), b * math.sin(angle)
            phase = np.exp(1j * (p[None, :] * bx + p[:, None] * by) / HBARC)
            total = total + wb * density_from_moments(moments_at(float(b)), nc, phase)
        return total

    def sampled_density_matrix(self, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
        """Unnormalised mean of A_i A_j* over ``n_pairs`` independent orientation pairs, drawn
        exactly as in ``sampled_intensity`` (same generator, same draws: the trace equals
        ``sampled_intensity`` with an identically seeded generator).  Shape
        (ncomp, ncomp, Np, Np) complex."""
        total = 0.0
        for wb, a in self._sampled_pairs(n_pairs, rng):
            total = total + np.einsum("n,nixy,njxy->ijxy", wb, a, np.conj(a), optimize=True)
        return total / n_pairs

    # -- finite samples -------------------------------------------------------------------------
    def sampled_intensity(self, n_pairs: int, rng: np.random.Generator) -> np.ndarray:
        """Unnormalised mean of |A~|^2 over ``n_pairs`` independent orientation pairs (each pair
        with its own b when |b| or its direction is random)."""
        p = self.amplitude(1).p_axis
        total = np.zeros((p.size, p.size))
        for wb, a in self._sampled_pairs(n_pairs, rng):
            inten = np.sum(a.real**2 + a.imag**2, axis=1)
            total += np.tensordot(wb, inten, axes=1)
        return total / n_pairs

    def _sampled_pairs(self, n_pairs: int, rng: np.random.Generator
                       ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Blocks of (weights (n,), amplitudes A~ (n, ncomp, Np, Np)) of ``n_pairs`` independent
        orientation pairs, each with its own |b| (and direction) when these are random."""
        col = self.collision
        nh1 = isotropic_axes(rng, n_pairs)
        nh2 = isotropic_axes(rng, n_pairs)
        if col.b_magnitude == "upc":
            bmag = self.b_distribution.sample(rng, n_pairs)
            wb = 1.0 / self.b_distribution.flux_at(bmag)
        else:
            bmag, wb = np.full(n_pairs, col.b), np.ones(n_pairs)
        if col.b_direction == "random":
            bang = 2.0 * math.pi * rng.random(n_pairs)
        else:
            bang = np.full(n_pairs, col.b_angle)
        bx, by = bmag * np.cos(bang), bmag * np.sin(bang)
        amp1, amp2 = self.amplitude(1), self.amplitude(2)
        p = amp1.p_axis
        shared = col.b_magnitude == "fixed" and col.b_direction == "fixed"
        if shared:
            f1 = amp1.field((-bx[0], -by[0]))
            f2 = f1 if amp2 is amp1 else amp2.field((-bx[0], -by[0]))
        for i0 in range(0, n_pairs, self.numerics.batch):
            sl = slice(i0, i0 + self.numerics.batch)
            if not shared:
                f1 = np.stack([amp1.field((-x, -y)) for x, y in zip(bx[sl], by[sl], strict=True)])
                f2 = f1 if amp2 is amp1 else np.stack(
                    [amp2.field((-x, -y)) for x, y in zip(bx[sl], by[sl], strict=True)])
            g1 = amp1.amplitudes(amp1.profiles(nh1[sl]), f1)
            g2 = SECOND_SOURCE_SIGN * np.conj(amp2.amplitudes(amp2.profiles(nh2[sl]), f2))
            half = np.exp(0.5j * (p[None, None, :] * bx[sl, None, None]
                                  + p[None, :, None] * by[sl, None, None]) / HBARC)[:, None]
            yield wb[sl], g1 * half + g2 * np.conj(half)

    # -- closed form ----------------------------------------------------------------------------
    @property
    def closed_form_applies(self) -> bool:
        """True for the linear, uniform-flux, scalar model at y = 0 (section 1.7 closed form)."""
        sw = self.switches
        return (not sw.glauber and sw.flux == "uniform" and sw.polarization == "scalar"
                and self.collision.rapidity == 0.0)

    def closed_form_intensity(self) -> np.ndarray:
        """Unnormalised exact average from the closed multipole form (see closed_form.py)."""
        if not self.closed_form_applies:
            raise ParameterError("method", "closed",
                                 "needs --linear --no-flux, scalar polarisation and y = 0")
        b, wb = self._b_nodes()
        if self.collision.b_magnitude == "upc":
            wb = wb * self.b_distribution.flux_at(b)  # uniform flux: the shape needs no 1/n
        qz = self.kin1.qz if self.switches.coherence_phase else 0.0
        axis = self.grid.centres
        raw = closed_form_intensity(self.profile, axis, axis, b, wb / wb.sum(), qz,
                                    random_direction=self.collision.b_direction == "random")
        if self.collision.b_direction == "fixed" and self.collision.b_angle != 0.0:
            raise ParameterError("b_angle", self.collision.b_angle,
                                 "must be 0 for the closed form (b along px)")
        return raw

    # -- public entry ---------------------------------------------------------------------------
    def exact_raw(self, method: str = "auto") -> np.ndarray:
        """Unnormalised infinite-orientation average on the image grid (pixels, pixels).

        The one dispatch of the exact image, used by :meth:`image` and by the information
        limit: the closed multipole form when ``method`` is 'closed', or 'auto' and the form
        applies (b along px or a random b direction); else the orientation quadrature, for a
        random b direction averaged over the azimuth of the extended-grid image.
        """
        check_choice("method", method, ("auto", "grid", "closed"))
        col = self.collision
        if method == "closed" or (method == "auto" and self.closed_form_applies and (
                col.b_direction == "random" or col.b_angle == 0.0)):
            return self.closed_form_intensity()
        if col.b_direction == "random":
            return azimuthal_average(self.exact_intensity(extended=True),
                                     self.amplitude(1, True).p_axis, self.grid,
                                     self.numerics.n_b_angle)
        return self.exact_intensity()

    def image(self, orientations: int | None = None, seed: int | None = None,
              method: str = "auto") -> Image:
        """Normalised image: exact average when ``orientations`` is None, else that many pairs.

        ``method`` for the exact average: 'grid' (the general path), 'closed' (closed multipole
        form, linear uniform-flux model only) or 'auto' (closed form whenever it applies).
        """
        check_choice("method", method, ("auto", "grid", "closed"))
        if orientations is None:
            raw = self.exact_raw(method)
        else:
            check_range("orientations", orientations, 1, 10**7)
            if seed is not None:
                check_range("seed", seed, 0, 2**63 - 1)
            raw = self.sampled_intensity(int(orientations), np.random.default_rng(seed))
        intensity = raw / (raw.sum() * self.grid.step**2)
        axis = self.grid.centres
        return Image(px=axis.copy(), py=axis.copy(), intensity=intensity,
                     config=self.config(orientations, seed))

    def config(self, orientations: int | None, seed: int | None) -> dict[str, Any]:
        """Everything needed to reproduce an image, plus derived quantities for reference."""
        prof = self.profile
        return {
            "upclens_version": __version__,
            "nucleus": _flat_fields(self.nucleus),
            "collision": _flat_fields(self.collision),
            "switches": _flat_fields(self.switches),
            "grid": _flat_fields(self.grid),
            "numerics": _flat_fields(self.numerics),
            "meson": self.meson.name,
            "orientations": "exact" if orientations is None else int(orientations),
            "seed": seed,
            "derived": {
                "R_n_fm": prof.R_n, "a_n_fm": prof.a_n, "rms_p_fm": prof.rms_p,
                "rms_n_fm": prof.rms_n, "rms_matter_fm": prof.rms_m,
                "com_shift_fm": prof.com_shift, "lorentz_gamma": self.gamma,
                "omega_GeV": self.kin1.omega, "W_GeV": self.kin1.w,
                "sigma_vn_fm2": self.kin1.sigma_vn, "qz_per_fm": self.kin1.qz,
            },
        }


def _weighted_outer(weights: np.ndarray, g: np.ndarray) -> np.ndarray:
    """sum_n w_n g_ni g_nj* for amplitudes g (N, ncomp, Np, Np): (ncomp, ncomp, Np, Np)."""
    nc = g.shape[1]
    out = np.empty((nc, nc, *g.shape[2:]), dtype=complex)
    for i in range(nc):
        gi = g[:, i]
        out[i, i] = np.tensordot(weights, gi.real**2 + gi.imag**2, axes=1)
        for j in range(i + 1, nc):
            out[i, j] = np.tensordot(weights, gi * np.conj(g[:, j]), axes=1)
            out[j, i] = np.conj(out[i, j])
    return out


def density_from_moments(moments: np.ndarray, ncomp: int, phase: np.ndarray) -> np.ndarray:
    """rho_ij(p) from the flat moment stack of ``DoubleSlit._moments_over_b(matrix=True)`` at
    one |b| and the phase e = exp(i p.b / hbar c): shape (ncomp, ncomp, Np, Np) complex."""
    nc = ncomp
    m1 = moments[:nc]
    s1 = moments[nc:nc + nc * nc].reshape(nc, nc, *moments.shape[1:])
    m2 = moments[nc + nc * nc:2 * nc + nc * nc]
    s2 = moments[2 * nc + nc * nc:].reshape(nc, nc, *moments.shape[1:])
    mean2 = SECOND_SOURCE_SIGN * np.conj(m2)
    cross = m1[:, None] * np.conj(mean2)[None, :] * phase
    return s1 + np.conj(s2) + cross + np.conj(np.swapaxes(cross, 0, 1))


def _flat_fields(settings: Any) -> dict[str, Any]:
    """Fields of a flat settings dataclass as a dict (``asdict`` without its deep copy)."""
    return {f.name: getattr(settings, f.name) for f in fields(settings)}


def azimuthal_average(image: np.ndarray, axis: np.ndarray, grid: ImageGrid,
                      n_angles: int) -> np.ndarray:
    """Average ``image`` (on ``axis`` x ``axis``, GeV) over rotations about p = 0, sampled at the
    pixel radii of ``grid`` by cubic-spline interpolation; returns (pixels, pixels)."""
    centres = grid.centres
    radius = np.hypot(centres[None, :], centres[:, None])
    radii, inverse = np.unique(np.round(radius, 12), return_inverse=True)
    phi = (np.arange(n_angles) + 0.5) * 2.0 * math.pi / n_angles
    step = axis[1] - axis[0]
    ix = (radii[:, None] * np.cos(phi)[None, :] - axis[0]) / step
    iy = (radii[:, None] * np.sin(phi)[None, :] - axis[0]) / step
    values = map_coordinates(image, [iy.ravel(), ix.ravel()], order=3, mode="nearest")
    profile = values.reshape(radii.size, n_angles).mean(axis=1)
    return profile[inverse].reshape(radius.shape)


def simulate_image(nucleus: Nucleus, collision: Collision | None = None,
                   switches: ModelSwitches | None = None, grid: ImageGrid | None = None, *,
                   orientations: int | None = None, seed: int | None = None,
                   numerics: Numerics | None = None, method: str = "auto") -> Image:
    """One normalised coherent J/psi image (see :class:`DoubleSlit`)."""
    return DoubleSlit(nucleus, collision, switches, grid, numerics).image(orientations, seed,
                                                                         method)
