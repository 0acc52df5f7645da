"""Only a stage's own figures enter the report: hidden temporaries of a killed write and links
are left out."""

from __future__ import annotations

from pathlib import Path

from upclens.data import load_config
from upclens.pipeline.plan import plan_for
from upclens.pipeline.steps import Study


def test_hidden_temporaries_and_links_are_not_figures(tmp_path: Path) -> None:
    folder = tmp_path / "evaluate"
    folder.mkdir()
    (folder / "residuals.png").write_bytes(b"\x89PNG")
    (folder / ".residuals.png.k3j2.png").write_bytes(b"\x89PNG half")  # killed atomic write
    (tmp_path / "elsewhere.png").write_bytes(b"\x89PNG")
    (folder / "planted.png").symlink_to(tmp_path / "elsewhere.png")
    study = Study(tmp_path, load_config(), plan_for("small"))
    assert study.pngs(folder) == ["evaluate/residuals.png"]
