"""Progress messages for long steps, shown by the command line.

Library code calls :func:`step` at the start of each long step; the messages go to the
``defibmap.progress`` logger, which the command line prints on standard error with the time
since the run began. A library user sees nothing unless they configure that logger.
"""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("defibmap.progress")


def step(message: str) -> None:
    """Announce the start of a long step (``message`` without a trailing full stop)."""
    logger.info(message)


class ElapsedFormatter(logging.Formatter):
    """``[  12.3 s] message``: seconds since the formatter was made."""

    def __init__(self) -> None:
        super().__init__()
        self._start = time.monotonic()

    def format(self, record: logging.LogRecord) -> str:
        """Prefix the message with the elapsed seconds."""
        return f"[{time.monotonic() - self._start:6.1f} s] {record.getMessage()}"
