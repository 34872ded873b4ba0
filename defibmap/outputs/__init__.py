"""What a study writes: ``summary.json``, the CSV tables, the workbook, the report and the map.

Outputs only render what the study computed. :mod:`~defibmap.outputs.write` writes them all
atomically; :mod:`~defibmap.outputs.tables` shapes the reader-facing tables;
:mod:`~defibmap.outputs.workbook`, :mod:`~defibmap.outputs.report`,
:mod:`~defibmap.outputs.plots` and :mod:`~defibmap.outputs.map` draw them.
"""

from __future__ import annotations

from defibmap.outputs.write import write_outputs

__all__ = ["write_outputs"]
