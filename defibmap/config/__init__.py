"""Study files: the TOML a user writes, read into one typed :class:`StudyConfig`."""

from __future__ import annotations

from defibmap.config.study_file import (
    LayerConfig,
    NetworkConfig,
    StudyConfig,
    read_study,
    study_from_dict,
)

__all__ = ["LayerConfig", "NetworkConfig", "StudyConfig", "read_study", "study_from_dict"]
