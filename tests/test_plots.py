"""Figures go to the file-only Agg backend unless a backend was chosen (a notebook keeps its
own)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = "{setup}from upclens import plots; plots.pyplot(); import matplotlib; " \
       "print(matplotlib.get_backend().lower())"


@pytest.mark.parametrize(("setup", "env", "backend"), [
    ("", {}, "agg"),                                        # nothing chosen: Agg
    ("", {"MPLBACKEND": "pdf"}, "pdf"),                     # chosen by the environment
    ("import matplotlib; matplotlib.use('svg'); ", {}, "svg"),  # chosen in the session
])
def test_pyplot_keeps_a_chosen_backend(setup, env, backend):
    environ = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"} | env
    r = subprocess.run([sys.executable, "-c", CODE.format(setup=setup)], env=environ,
                       capture_output=True, text=True, check=True)
    assert r.stdout.strip() == backend
