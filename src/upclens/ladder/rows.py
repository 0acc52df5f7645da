"""The rows of the realism ladder and the sizes of the study.

Each row is a set of dotted dataset-config overrides (``upclens.data.load_config``), the number
of J/psi per image (None: noiseless images, for which no Cramer-Rao bound exists) and the
nuisance parameters marginalised in its bound.  Every row is trained and evaluated the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from upclens.errors import ParameterError, check_choice
from upclens.information.model import NUISANCE_PRIORS
from upclens.physics.presets import preset

SIZES = ("tiny", "small", "workstation", "paper")
N_LETTERS = {"a": 1000, "b": 10_000, "c": 100_000, "d": 1_000_000}
"""Row suffix -> J/psi per image (rows 3 and 6)."""

EXACT_CONTINUOUS = {"image.orientations": "exact", "priors.delta_rnp.kind": "uniform",
                    "priors.delta_rnp.low": 0.0, "priors.delta_rnp.high": 0.3,
                    "priors.delta_rnp.threshold": 0.1}
"""Row 2 and every later row: exact orientation average, Delta r_np continuous in [0, 0.3] fm,
skin class Delta r_np > 0.1 fm."""


@dataclass(frozen=True)
class Row:
    """One rung of the ladder.

    name: short id ('1', '2', '3b', ...).  title: what it adds.  overrides: dotted dataset-config
    keys.  n_events: J/psi per image (None: noiseless).  nuisances: name -> Gaussian prior
    width (fm for R and a, relative for sigma_vn_scale), drawn in the data, hidden from the
    network and marginalised in the bound.  pool: J/psi counts whose datasets are pooled to
    train one network for all of them (evaluated on each count's own test split); empty for an
    ordinary row.  training: overrides of the ladder's training settings for this row only
    (e.g. ``count_feature`` for the network told N).
    """

    name: str
    title: str
    overrides: dict[str, Any]
    n_events: int | None = None
    nuisances: dict[str, float] = field(default_factory=dict)
    pool: tuple[int, ...] = ()
    training: dict[str, Any] = field(default_factory=dict)

    @property
    def has_crb(self) -> bool:
        """A bound exists only for a finite number of J/psi drawn from the exact average."""
        return self.n_events is not None or bool(self.pool)

    def counts(self) -> list[int | None]:
        """The J/psi counts this row is evaluated at (one entry of the table each)."""
        return list(self.pool) if self.pool else [self.n_events]

    def entry_name(self, n_events: int | None) -> str:
        """Name of the table entry at ``n_events`` ('3m' + the letter of N for a pool)."""
        if not self.pool:
            return self.name
        letter = {v: k for k, v in N_LETTERS.items()}.get(int(n_events or 0), str(n_events))
        return f"{self.name}{letter}"


@dataclass(frozen=True)
class LadderSize:
    """How much of each row: images per row (split by ``fractions``), pixels per axis, training
    overrides of :class:`upclens.learn.TrainSettings`, test points with a bound, default rows,
    generation workers (0: one per core), whether evaluation draws its figures and the J/psi
    counts pooled by row 3m."""

    name: str
    n_images: int
    pixels: int
    training: dict[str, Any]
    n_crb: int
    rows: tuple[str, ...]
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
    workers: int = 0
    figures: bool = True
    pool: tuple[int, ...] = tuple(N_LETTERS.values())

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ladder.json."""
        return {"name": self.name, "n_images": self.n_images, "pixels": self.pixels,
                "training": dict(self.training), "n_crb": self.n_crb, "rows": list(self.rows),
                "fractions": list(self.fractions), "workers": self.workers,
                "figures": self.figures, "pool": list(self.pool)}


def _nuisance_overrides(nucleus: str = "Zr96") -> dict[str, Any]:
    """Gaussian priors of the protons' R, a and of sigma_J/psi-N (widths of NUISANCE_PRIORS,
    centred on the preset and on 1), truncated at 3 sd as the data layer does by default."""
    p = preset(nucleus)
    out: dict[str, Any] = {}
    for name, centre in (("R", p.R), ("a", p.a), ("sigma_vn_scale", 1.0)):
        sd = NUISANCE_PRIORS[name]
        out.update({f"priors.{name}.kind": "normal", f"priors.{name}.mean": centre,
                    f"priors.{name}.sd": sd, f"priors.{name}.low": centre - 3 * sd,
                    f"priors.{name}.high": centre + 3 * sd})
    return out


def all_rows() -> list[Row]:
    """Every row of the full study, in ladder order."""
    rows = [
        Row("1", "seed: b = 15 fm along x, 128 sampled orientation pairs, binary skin "
            "(0 / 0.2 fm, halo)", {}),
        Row("2", "exact orientation average, Delta r_np uniform in [0, 0.3] fm",
            dict(EXACT_CONTINUOUS)),
    ]
    for letter, n in N_LETTERS.items():
        rows.append(Row(f"3{letter}", f"finite statistics: {n:.0e} J/psi per image",
                        {**EXACT_CONTINUOUS, "image.n_events": n}, n))
    rows.append(Row("3m", "one network trained on the pooled row-3 datasets of every N (N is "
                    "not an input: the network sees only the normalised image)",
                    dict(EXACT_CONTINUOUS), None, {}, tuple(N_LETTERS.values())))
    rows.append(Row("3n", "as 3m, with N given to the network (log of the image total into "
                    "its dense layer)", dict(EXACT_CONTINUOUS), None, {},
                    tuple(N_LETTERS.values()), {"count_feature": True}))
    n4 = N_LETTERS["b"]
    for letter, frac in (("a", 0.1), ("b", 0.3)):
        rows.append(Row(f"4{letter}", f"as 3b + {round(100 * frac)} % incoherent background "
                        "and 10 MeV pT smearing",
                        {**EXACT_CONTINUOUS, "image.n_events": n4,
                         "image.incoherent_fraction": frac, "image.smearing": 0.01}, n4))
    rows.append(Row("5a", "as 3b with a random direction of b",
                    {**EXACT_CONTINUOUS, "image.n_events": n4,
                     "physics.b_direction": "random"}, n4))
    rows.append(Row("5b", "as 5a with |b| from the UPC distribution",
                    {**EXACT_CONTINUOUS, "image.n_events": n4, "physics.b_direction": "random",
                     "physics.b_magnitude": "upc"}, n4))
    for letter in ("b", "d"):
        n = N_LETTERS[letter]
        rows.append(Row(f"6{letter}", f"as 3{letter} with hidden nuisances: proton R (+-0.02 "
                        "fm), a (+-0.01 fm), sigma_J/psi-N (+-20 %)",
                        {**EXACT_CONTINUOUS, **_nuisance_overrides(), "image.n_events": n}, n,
                        dict(NUISANCE_PRIORS)))
    return rows


def _small_training() -> dict[str, Any]:
    return {"epochs": 6, "batch_size": 64, "lr": 3.0e-3, "patience": 6}


def _workstation_training() -> dict[str, Any]:
    return {}  # the learning defaults (those of the main job)


def _paper_training() -> dict[str, Any]:
    from upclens.learn.settings import PAPER_TRAINING

    return dict(PAPER_TRAINING)


def ladder_size(size: str | LadderSize) -> LadderSize:
    """The named size: 'tiny' (tests), 'small' (a quick look, ~45 min, no 5b), 'workstation'
    (every row in under 2 hours on 2 cores) or 'paper' (the study: ~5 core-hours of images,
    then GPU-minutes or CPU-hours of training per row)."""
    if isinstance(size, LadderSize):
        return size
    check_choice("size", size, SIZES)
    every = tuple(r.name for r in all_rows())
    if size == "paper":
        return LadderSize("paper", n_images=20_000, pixels=64, training=_paper_training(),
                          n_crb=200, rows=every, fractions=(0.8, 0.1, 0.1))
    if size == "workstation":
        return LadderSize("workstation", n_images=6000, pixels=64,
                          training=_workstation_training(), n_crb=48, rows=every, workers=2)
    if size == "small":
        return LadderSize("small", n_images=2000, pixels=64, training=_small_training(),
                          n_crb=32, workers=2,
                          rows=("1", "2", "3a", "3b", "3c", "3d", "3m", "3n", "4a", "4b", "5a",
                                "6b", "6d"),
                          pool=(N_LETTERS["b"], N_LETTERS["d"]))
    return LadderSize("tiny", n_images=64, pixels=16,
                      training={"epochs": 1, "batch_size": 16, "width": 4, "head": 16,
                                "patience": 1},
                      n_crb=3, rows=("2", "3b"), fractions=(0.5, 0.25, 0.25), workers=1,
                      figures=False, pool=(N_LETTERS["a"], N_LETTERS["b"]))


def ladder_rows(size: str | LadderSize = "workstation",
                names: str | list[str] | tuple[str, ...] | None = None) -> list[Row]:
    """The rows of ``size`` (or the rows ``names``, a list or comma-separated string, in ladder
    order), each with the size's pixel count added to its overrides."""
    spec = ladder_size(size)
    rows = {r.name: r for r in all_rows()}
    if names is None:
        wanted = list(spec.rows)
    else:
        wanted = [s.strip() for s in (names.split(",") if isinstance(names, str) else names)]
        unknown = [w for w in wanted if w not in rows]
        if unknown or not wanted:
            raise ParameterError("rows", ",".join(unknown) or names,
                                 "must be a comma-separated list of " + ", ".join(rows))
    order = [name for name in rows if name in wanted]
    return [Row(r.name, r.title, {**r.overrides, "image.pixels": spec.pixels}, r.n_events,
                r.nuisances, spec.pool if r.pool else (), r.training)
            for r in (rows[n] for n in order)]
