"""Reading the user's files: point layers, registers, postcodes and ONS area tables.

:mod:`~defibmap.io.sites` reads point layers (CSV, Excel, GeoJSON, GeoPackage, Shapefile) and
checks every row; :mod:`~defibmap.io.postcodes` geocodes postcodes;
:mod:`~defibmap.io.registers` reads defibrillator registers and merges them with
OpenStreetMap; :mod:`~defibmap.io.population` joins ONS Census tables, centroids and IMD.
"""

from __future__ import annotations

from defibmap.io.sites import LayerReport, LayerSpec, load_layer

__all__ = ["LayerReport", "LayerSpec", "load_layer"]
