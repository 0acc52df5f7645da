"""Training settings: one frozen dataclass, validated, stored with every run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from upclens.errors import ParameterError, check_choice, check_range

PREPROCESS_MODES = ("raw", "log_global", "log_pixel")
WEIGHTINGS = ("fixed", "learned")
SCHEDULES = ("onecycle", "cosine", "constant")
AUGMENTS = ("flip", "none")
DEVICES = ("auto", "cpu", "cuda")

#: Regression targets, in the order of the network's heads.
TARGETS = ("beta2", "beta3", "delta_rnp")
#: Label column of the skin class (0. / 1.).
CLASS_COLUMN = "skin"


PAPER_TRAINING: dict[str, Any] = {"width": 32, "blocks": (2, 2, 2), "head": 256, "epochs": 40,
                                  "batch_size": 128, "lr": 2.0e-3, "patience": 8}
"""Overrides of :class:`TrainSettings` for the paper-size studies (the main job's 'paper' preset
and the paper-size ladder): a wider, deeper network on 20,000-25,000 images."""


@dataclass(frozen=True)
class TrainSettings:
    """Architecture, preprocessing, loss and optimisation of one training run.

    width: channels of the first ResNet stage (doubled per stage).  stem: stride of the first
    convolution (3x3 kernel for stride 1 or 2; a patchify kernel of size = stride beyond).
    blocks: residual blocks per stage.  head: units of the shared fully connected layer.
    count_feature: also give that layer log(sum I), the event count of a histogram (a network
    told N; without it the input is scale-free).
    preprocess: 'raw' (unit-sum image, global standardisation), 'log_global' or 'log_pixel'
    (log(I / sum I + eps / npix), standardised globally or per pixel).  eps: relative floor of
    the log.  weighting: 'fixed' (mean Gaussian NLL + class_weight * BCE) or 'learned' (Kendall
    et al. 2018 weight of the class term).  beta_nll: exponent of the sigma^(2 beta) weight of
    each NLL term (Seitzer et al. 2022; 0 is the plain NLL).  lr: peak learning rate; schedule:
    'onecycle', 'cosine' or 'constant'.  augment: 'flip' mirrors px and py at random (labels are
    invariant under both reflections of the parent distribution).  patience: epochs without a
    better validation loss before stopping, counted in the second half of the epochs only.
    calibrate: after training, rescale each predicted sigma by the factor that makes +-1 sigma
    cover 68.27 % of the validation set.  max_train: use only the first that many training
    images (None: all).
    """

    width: int = 16
    stem: int = 4
    blocks: tuple[int, ...] = (1, 1, 1)
    head: int = 128
    count_feature: bool = False
    preprocess: str = "log_pixel"
    eps: float = 1.0e-3
    weighting: str = "learned"
    class_weight: float = 1.0
    beta_nll: float = 0.0
    epochs: int = 40
    batch_size: int = 64
    lr: float = 3.0e-3
    weight_decay: float = 1.0e-4
    schedule: str = "onecycle"
    augment: str = "flip"
    patience: int = 8
    calibrate: bool = True
    seed: int = 0
    max_train: int | None = None
    device: str = "auto"

    def __post_init__(self) -> None:
        check_range("width", self.width, 1, 512)
        check_range("stem", self.stem, 1, 8)
        blocks = tuple(int(b) for b in self.blocks)
        if not blocks or len(blocks) > 6 or any(b < 1 or b > 8 for b in blocks):
            raise ParameterError("blocks", self.blocks,
                                 "must be 1 to 6 stages of 1 to 8 blocks each")
        object.__setattr__(self, "blocks", blocks)
        check_range("head", self.head, 1, 4096)
        check_choice("preprocess", self.preprocess, PREPROCESS_MODES)
        check_range("eps", self.eps, 0.0, 1.0, lo_open=True)
        check_choice("weighting", self.weighting, WEIGHTINGS)
        check_range("class_weight", self.class_weight, 0.0, 100.0)
        check_range("beta_nll", self.beta_nll, 0.0, 1.0)
        check_range("epochs", self.epochs, 1, 10_000)
        check_range("batch_size", self.batch_size, 1, 65_536)
        check_range("lr", self.lr, 0.0, 10.0, lo_open=True)
        check_range("weight_decay", self.weight_decay, 0.0, 1.0)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("augment", self.augment, AUGMENTS)
        check_range("patience", self.patience, 1, 10_000)
        check_range("seed", self.seed, 0, 2**63 - 1)
        if self.max_train is not None:
            check_range("max_train", self.max_train, 1, 10**9)
        check_choice("device", self.device, DEVICES)
        for name in ("width", "stem", "head", "epochs", "batch_size", "patience", "seed"):
            if int(getattr(self, name)) != getattr(self, name):
                raise ParameterError(name, getattr(self, name), "must be an integer")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (blocks as a list)."""
        d = asdict(self)
        d["blocks"] = list(self.blocks)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainSettings:
        """Inverse of :meth:`to_dict`; unknown keys are refused."""
        known = {f.name for f in fields(cls)}
        for key in d:
            if key not in known:
                raise ParameterError("train setting", key, "must be one of " + ", ".join(known))
        d = dict(d)
        if "blocks" in d:
            d["blocks"] = tuple(d["blocks"])
        return cls(**d)
