"""Physics checks shown in the report: the model's coherent Pb |t| spectrum against ALICE."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def alice_comparison(folder: Path) -> dict[str, Any]:
    """Fit the shape of the Pb208 coherent dsigma/d|t| at 5.02 TeV to ALICE (free scale);
    writes ``alice_tspectrum.png`` into ``folder`` and returns chi2, ndf and the scale."""
    import numpy as np

    from upclens import plots
    from upclens.compare import fit_alice_coherent_pb
    from upclens.physics.nucleus import Nucleus
    from upclens.physics.tspectrum import coherent_tspectrum

    nucleus = Nucleus.from_preset("Pb208")
    fit = fit_alice_coherent_pb(nucleus)
    t = np.linspace(0.0, 0.0125, 200)
    curve = coherent_tspectrum(nucleus, t, 5020.0)
    plt = plots.pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.2), constrained_layout=True)
    plots.tspectrum_panel(fit, t, curve, ax, label="Pb208 quantum Glauber")
    plots.save_figure(fig, str(folder / "alice_tspectrum.png"))
    return {"chi2": float(fit.chi2), "ndf": int(fit.ndf), "scale": float(fit.scale)}
