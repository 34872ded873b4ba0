"""The demo town study reading a defibs table of the test's own (shipped files untouched)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data"


def demo_with_defibs(
    tmp: Path, defibs: pd.DataFrame, name: str, *, as_of: str | None = None
) -> Path:
    """Write ``defibs`` and a copy of the demo town study reading it; return the study file.

    Every other path points at the shipped demo town data (absolute); ``as_of`` sets
    ``[availability] as_of`` (the day readiness is judged on).
    """
    defibs.to_csv(tmp / f"{name}.csv", index=False)
    study = (DATA / "studies" / "demo-town.toml").read_text(encoding="utf-8")
    study = study.replace('"../demo-town/defibs.csv"', f'"{(tmp / f"{name}.csv").as_posix()}"')
    study = study.replace('"../demo-town/', f'"{(DATA / "demo-town").as_posix()}/')
    if as_of is not None:
        if "[availability]" in study:
            study = study.replace("[availability]", f"[availability]\nas_of = {as_of}", 1)
        else:
            study += f"\n[availability]\nas_of = {as_of}\n"
    path = tmp / f"{name}.toml"
    path.write_text(study, encoding="utf-8")
    return path
