"""Error hierarchy for defibmap.

Every error the package raises on purpose derives from :class:`DefibmapError`, so callers can
catch one type. Input errors name the file, the row and the column, and what was expected.
"""

from __future__ import annotations


class DefibmapError(ValueError):
    """Base class of every error defibmap raises on purpose."""


class InputError(DefibmapError):
    """A user-supplied file or value cannot be used (file, row, column and expectation given)."""


class ConfigError(InputError):
    """A study file is missing a key, has a wrong type, or names a file that does not exist."""


class NetworkError(DefibmapError):
    """The walking network could not be built, loaded or used."""


class OptimisationError(DefibmapError):
    """The optimiser failed to prove a solution."""
