"""Explanation: Prediction Difference Analysis heatmaps, a cross-check attribution, edge /
fringe regions of the image, and physics ratio maps straight from the simulator."""

from __future__ import annotations

from upclens.explain.attribution import integrated_gradients, occlusion, rank_correlation
from upclens.explain.pda import PDAResult, prediction_difference, weight_of_evidence
from upclens.explain.ratios import ratio_maps
from upclens.explain.regions import Regions, region_masks, region_shares
from upclens.explain.run import explain
from upclens.explain.sampling import ConditionalSampler, MarginalSampler
from upclens.explain.windows import Windows

__all__ = [
    "ConditionalSampler",
    "MarginalSampler",
    "PDAResult",
    "Regions",
    "Windows",
    "explain",
    "integrated_gradients",
    "occlusion",
    "prediction_difference",
    "rank_correlation",
    "ratio_maps",
    "region_masks",
    "region_shares",
    "weight_of_evidence",
]
