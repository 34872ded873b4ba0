"""Checked readers for single values of a study file.

Each reader takes one key of one section of a parsed study TOML and returns it typed, or
raises a :class:`~defibmap._errors.ConfigError` that names the study file, the section, the
key and what was expected. File paths are resolved against the study file's folder.

Private to the package: :mod:`defibmap.config.study_file` and :mod:`defibmap.config._options` call
these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from defibmap._errors import ConfigError
from defibmap.layers import KINDS, OSM_KINDS


def type_error(path: Path, section: str, key: str, expected: str, value: object) -> ConfigError:
    """Return the error for ``[section] key`` of ``path`` holding ``value``, not ``expected``."""
    msg = f"{path}: [{section}] {key} must be {expected}, got {value!r}"
    return ConfigError(msg)


def get(
    table: dict[str, Any], key: str, kind: type | tuple[type, ...], path: Path, section: str
) -> Any:  # noqa: ANN401 - TOML values
    """Return ``table[key]`` checked to be of ``kind`` (a bool is not a number), else None."""
    value = table.get(key)
    if value is None:
        return None
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise type_error(path, section, key, "a number", value)
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise type_error(path, section, key, f"a {name}", value)
    return value


def file(base: Path, value: str, path: Path, section: str, key: str = "file") -> Path:
    """Return an existing file path of the study file: ``~`` expanded, relative to ``base``."""
    if not isinstance(value, str) or not value:
        raise type_error(path, section, key, "a file path", value)
    candidate = Path(value).expanduser()
    resolved = candidate if candidate.is_absolute() else base / candidate
    if not resolved.exists():
        msg = f"{path}: [{section}] {key} = {value!r}: no such file ({resolved})"
        raise ConfigError(msg)
    return resolved


def folder(base: Path, value: str) -> Path:
    """Return a folder path of the study file: ``~`` expanded, relative to its folder."""
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def choice(
    table: dict[str, Any],
    key: str,
    allowed: tuple[str, ...],
    default: str,
    where: Path,
    section: str,
) -> str:
    """Return ``table[key]`` (else ``default``) checked to be one of ``allowed``."""
    value = table.get(key, default)
    if value not in allowed:
        raise type_error(where, section, key, " or ".join(repr(a) for a in allowed), value)
    return str(value)


def osm_kinds(table: dict[str, Any], where: Path, section: str) -> tuple[str, ...]:
    """Read and check ``osm = "kind"`` or ``osm = ["kind", ...]`` of a layer section."""
    value = table.get("osm")
    if value is None:
        return ()
    kinds = [value] if isinstance(value, str) else value
    allowed = OSM_KINDS[section]
    if (
        not isinstance(kinds, list)
        or not kinds
        or not all(isinstance(k, str) for k in kinds)
        or len(set(kinds)) != len(kinds)
    ):
        expected = "an OpenStreetMap layer name or a list of different ones"
        raise type_error(where, section, "osm", f"{expected} ({', '.join(allowed)})", value)
    for kind in kinds:
        if kind not in KINDS:
            msg = (
                f"{where}: [{section}] osm = {value!r}: unknown OpenStreetMap layer {kind!r}; "
                f"known: {', '.join(KINDS)}"
            )
            raise ConfigError(msg)
        if kind not in allowed:
            msg = (
                f"{where}: [{section}] osm = {value!r}: the {kind!r} layer does not belong in "
                f"[{section}]; it takes {', '.join(repr(a) for a in allowed)}"
            )
            raise ConfigError(msg)
    return tuple(kinds)
