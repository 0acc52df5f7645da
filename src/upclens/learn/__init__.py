"""Learning nuclear shape from images: multi-task ResNet, training, evaluation, prediction.

Public API: :func:`train`, :func:`evaluate`, :func:`predict`, :func:`load_model` and
:class:`TrainSettings`.  Importing this package imports torch.
"""

from upclens.learn.checkpoint import load_model
from upclens.learn.evaluate import evaluate
from upclens.learn.predict import predict
from upclens.learn.settings import TrainSettings
from upclens.learn.train import train

__all__ = ["TrainSettings", "evaluate", "load_model", "predict", "train"]
