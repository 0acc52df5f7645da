"""upclens: nuclear shape and neutron skin from coherent J/psi double-slit images in UPCs."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
