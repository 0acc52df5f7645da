"""Learning nuclear shape from images: multi-task ResNet, training, evaluation, prediction.

Public API: :func:`train`, :func:`evaluate`, :func:`predict`, :func:`load_model` and
:class:`TrainSettings`.  torch is imported only when one of the functions is first used, so the
command line (which imports ``upclens.learn.commands``) starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from upclens.lazy import lazy_attributes
from upclens.learn.settings import TrainSettings

if TYPE_CHECKING:
    from upclens.learn.checkpoint import load_model
    from upclens.learn.evaluation import evaluate
    from upclens.learn.prediction import predict
    from upclens.learn.training import train

__all__ = ["TrainSettings", "evaluate", "load_model", "predict", "train"]

_LAZY = {
    "load_model": "upclens.learn.checkpoint",
    "evaluate": "upclens.learn.evaluation",
    "predict": "upclens.learn.prediction",
    "train": "upclens.learn.training",
}

__getattr__ = lazy_attributes(__name__, _LAZY)  # torch only when used
