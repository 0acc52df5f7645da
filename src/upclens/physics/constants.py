"""Physical constants (GeV, fm) and the J/psi photoproduction inputs.

Each value is the single source of truth for the whole package; docs/physics.md lists the
sources and the choices made where the literature offers more than one.
"""

from __future__ import annotations

HBARC = 0.1973269804  # GeV fm
HBARC2_FM2_PER_GEV2 = HBARC**2  # 1 GeV^-2 = 0.0389 fm^2
ALPHA_EM = 1.0 / 137.036
M_JPSI = 3.0969  # GeV
M_PROTON = 0.938272  # GeV
M_NUCLEON_AMU = 0.93149  # GeV; Lorentz factor gamma = sqrt(sNN) / (2 m_N) uses the atomic mass unit
NB_TO_FM2 = 1.0e-7  # 1 nb = 1e-7 fm^2
MB_TO_FM2 = 0.1  # 1 mb = 0.1 fm^2

# J/psi vector-meson-dominance inputs (STARlight): f_V^2/4pi, forward slope b_V (GeV^-2),
# sigma(gamma p -> J/psi p) = SIGMA_GP_NORM_NB * W^SIGMA_GP_POWER * (1 - (M + m_p)^2 / W^2)^2 nb.
JPSI_FV2_OVER_4PI = 10.45
JPSI_SLOPE_GEV2 = 4.0
SIGMA_GP_NORM_NB = 4.06
SIGMA_GP_POWER = 0.65

# Incoherent J/psi: dN/d|t| ~ exp(-B |t|) with the gamma-p slope (GeV^-2).
INCOHERENT_SLOPE_GEV2 = JPSI_SLOPE_GEV2

# Inelastic nucleon-nucleon cross section sigma = A + B ln(s)^n in mb (d'Enterria & Loizides,
# arXiv:2011.14909): 41.3 mb at 200 GeV, 67.2 mb at 5.02 TeV.
SIGMA_NN_A_MB = 28.84
SIGMA_NN_B_MB = 0.0458
SIGMA_NN_POWER = 2.374
