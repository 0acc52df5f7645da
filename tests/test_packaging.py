"""Every file the package reads at run time ships in the wheel: each non-Python file under
src/upclens is matched by a package-data pattern of pyproject.toml (setuptools' own globs)."""

from __future__ import annotations

import tomllib

from support import REPO


def test_every_data_file_is_declared_as_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["upclens"]
    package = REPO / "src" / "upclens"
    declared = {p for pattern in patterns for p in package.glob(pattern)}
    data = {p for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
            and "__pycache__" not in p.parts}
    assert data, "no data files found: the test looks in the wrong place"
    missing = sorted(str(p.relative_to(package)) for p in data - declared)
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
