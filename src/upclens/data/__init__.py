"""Datasets at scale: label priors, simulated image sets in HDF5 (local processes or Dask),
validation, splitting and a streaming torch Dataset (torch imported only by ImageDataset)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from upclens.data.config import DatasetConfig, Prior
from upclens.data.tomlio import config_to_toml, load_config
from upclens.lazy import lazy_attributes

if TYPE_CHECKING:
    from upclens.data.torchdata import ImageDataset

__all__ = [
    "DatasetConfig",
    "ImageDataset",
    "Prior",
    "config_to_toml",
    "dataset_info",
    "generate_dataset",
    "load_config",
    "read_dataset",
    "simulate_item",
    "split_dataset",
]

_LAZY = {
    "generate_dataset": "upclens.data.generate",
    "simulate_item": "upclens.data.simulate",
    "read_dataset": "upclens.data.store",
    "dataset_info": "upclens.data.store",
    "split_dataset": "upclens.data.split",
    "ImageDataset": "upclens.data.torchdata",
}

__getattr__ = lazy_attributes(__name__, _LAZY)  # h5py and torch only when used
