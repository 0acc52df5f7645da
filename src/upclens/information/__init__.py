"""The information limit: Fisher matrix and Cramer-Rao bound of (beta2, beta3, Delta r_np)
from exact J/psi images, with background, smearing and nuisance parameters, and from measured
events (b direction unknown, daughter angle, neutron classes, rapidity, acceptance)."""

from upclens.information.crb import crb_at_points, crb_versus_n, fisher_matrix
from upclens.information.event_fisher import EventAnalysis, event_fisher, event_table
from upclens.information.events_model import DensityCache, EngineSettings
from upclens.information.fisher import (
    FisherResult,
    Parameter,
    crb_sigma,
    fisher_from_model,
    information_per_event,
    sigma_fixed,
    sigma_versus_n,
)
from upclens.information.model import (
    NUISANCE_PRIORS,
    SHAPE_PARAMETERS,
    ExactImageModel,
    InformationSettings,
    realism_ladder,
)
from upclens.information.plot import plot_crb_versus_n

__all__ = [
    "NUISANCE_PRIORS",
    "SHAPE_PARAMETERS",
    "DensityCache",
    "EngineSettings",
    "EventAnalysis",
    "ExactImageModel",
    "FisherResult",
    "InformationSettings",
    "Parameter",
    "crb_at_points",
    "crb_sigma",
    "crb_versus_n",
    "event_fisher",
    "event_table",
    "fisher_from_model",
    "fisher_matrix",
    "information_per_event",
    "plot_crb_versus_n",
    "realism_ladder",
    "sigma_fixed",
    "sigma_versus_n",
]
