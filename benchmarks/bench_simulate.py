"""Speed of the physics engine, side by side with a naive reference.

Naive reference (written for this benchmark only): per orientation, the rotated Woods-Saxon
density on a 3D grid, projected along z, the Glauber profile and the flux weight applied, and a
zero-padded 2D FFT whose frequency grid is the image's (box 2 pi hbar c / dp).  It evaluates the
density directly (no multipoles), so its images also check ours.

    python benchmarks/bench_simulate.py            # full run, ~2 minutes on 2 cores
    python benchmarks/bench_simulate.py --quick    # a smoke run
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from upclens.physics.constants import HBARC
from upclens.physics.image import SECOND_SOURCE_SIGN, DoubleSlit, isotropic_axes, simulate_image
from upclens.physics.nucleus import Nucleus, species_density
from upclens.physics.profile import amplitude_profile
from upclens.physics.settings import Collision, ImageGrid, ModelSwitches


def naive_pair_images(sim: DoubleSlit, nh1: np.ndarray, nh2: np.ndarray,
                      dx: float = 0.5) -> np.ndarray:
    """Mean |A~|^2 over orientation pairs by brute force (b along x, y = 0, scalar)."""
    grid, prof, kin = sim.grid, sim.profile, sim.kin1
    n_fft = round(2 * math.pi * HBARC / (grid.step * dx))
    dx = 2 * math.pi * HBARC / (grid.step * n_fft)  # box exactly 2 pi hbar c / dp
    half = sim.amplitude(1).grid.x.max()
    n_loc = 2 * math.ceil(half / dx)
    x = (np.arange(n_loc) - n_loc / 2) * dx
    z = x.copy()
    X, Y, Z = np.meshgrid(x, x, z, indexing="ij")  # [ix, iy, iz]
    r = np.sqrt(X**2 + Y**2 + Z**2)
    field = sim.amplitude(1).field((-sim.collision.b, 0.0))[0]  # on the package grid
    # Flux on the naive grid, evaluated directly.
    from upclens.physics.flux import field_components

    fld = field_components(x, x, (-sim.collision.b, 0.0), kin.omega, sim.gamma,
                           sim.nucleus.Z, prof.R_p, pointwise=True, polarization="scalar")[0]
    del field
    shift = np.exp(0.5j * grid.step * x / HBARC)
    m = np.arange(grid.pixels) - grid.pixels // 2

    def amplitude(nhat: np.ndarray) -> np.ndarray:
        c = (X * nhat[0] + Y * nhat[1] + Z * nhat[2]) / np.maximum(r, 1e-12)
        thick = species_density(prof, "m", r, c).sum(axis=2).T * dx  # [iy, ix]
        a = amplitude_profile(thick, kin.sigma_vn, True) * kin.amplitude_scale * fld
        a = a * shift[None, :] * shift[:, None]
        padded = np.zeros((n_fft, n_fft), complex)
        j0 = n_fft // 2 - n_loc // 2
        padded[j0:j0 + n_loc, j0:j0 + n_loc] = a
        spec = np.fft.ifft2(np.fft.ifftshift(padded)) * n_fft**2 * dx**2
        return spec[np.ix_(m % n_fft, m % n_fft)]

    p = grid.centres
    half_phase = np.exp(0.5j * p[None, :] * sim.collision.b / HBARC)
    total = np.zeros((grid.pixels, grid.pixels))
    for a1, a2 in zip(nh1, nh2, strict=True):
        g1 = amplitude(a1)
        g2 = SECOND_SOURCE_SIGN * np.conj(amplitude(a2))
        total += np.abs(g1 * half_phase + g2 * np.conj(half_phase)) ** 2
    return total / len(nh1)


def rate(fn, n: int) -> float:
    """Calls per second of ``fn(i)`` over ``n`` calls after one warm-up call."""
    fn(-1)
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 5 if args.quick else 40
    rng = np.random.default_rng(0)
    grid = ImageGrid(64, 0.2)

    def nucleus(i: int) -> Nucleus:
        return Nucleus.from_preset("Zr96", beta2=rng.uniform(0, 0.3), beta3=rng.uniform(0, 0.3),
                                   delta_rnp=0.2 * (i % 2))

    exact = rate(lambda i: simulate_image(nucleus(i), grid=grid), n)
    sampled = rate(lambda i: simulate_image(nucleus(i), grid=grid, orientations=128, seed=i + 1), n)
    closed = rate(lambda i: simulate_image(nucleus(i), grid=grid,
                                           switches=ModelSwitches(glauber=False,
                                                                  flux="uniform")), 10 * n)
    upc = rate(lambda i: simulate_image(nucleus(i), grid=grid, collision=Collision(
        b_magnitude="upc", b_direction="random")), max(n // 4, 3))
    print(f"exact average, full physics, new nucleus each image : {exact:8.1f} images/s")
    print(f"  the same, random b direction and UPC |b| average  : {upc:8.2f} images/s")
    print(f"128 sampled pairs, full physics, new nucleus each   : {sampled:8.1f} images/s")
    print(f"closed multipole form (linear, uniform flux)        : {closed:8.1f} images/s")

    # Side by side with the naive reference at the same orientations.
    sim = DoubleSlit(Nucleus.from_preset("Zr96", beta2=0.2, beta3=0.2), grid=grid)
    pairs = 4 if args.quick else 16
    nh = isotropic_axes(np.random.default_rng(1), 2 * pairs)
    t0 = time.perf_counter()
    naive = naive_pair_images(sim, nh[:pairs], nh[pairs:])
    t_naive = (time.perf_counter() - t0) / pairs
    amp = sim.amplitude(1)
    fld = amp.field((-sim.collision.b, 0.0))
    t0 = time.perf_counter()
    g1 = amp.amplitudes(amp.profiles(nh[:pairs]), fld)
    g2 = SECOND_SOURCE_SIGN * np.conj(amp.amplitudes(amp.profiles(nh[pairs:]), fld))
    half = np.exp(0.5j * grid.centres[None, :] * sim.collision.b / HBARC)
    ours = np.mean(np.sum(np.abs(g1 * half + g2 * np.conj(half)) ** 2, axis=1), axis=0)
    t_ours = (time.perf_counter() - t0) / pairs
    diff = np.abs(naive - ours).sum() / np.abs(naive).sum()
    print(f"naive reference: {1e3 * t_naive:8.1f} ms per orientation pair; upclens "
          f"{1e3 * t_ours:6.2f} ms; speed-up {t_naive / t_ours:6.0f}x; image difference "
          f"(weighted L1) {diff:.1e}")


if __name__ == "__main__":
    main()
