"""Regenerate `world_110m.geojson`, the country shapes the balance map draws, so the map needs no
internet and no geo stack at run time.

Source: Natural Earth 1:110m Admin 0 countries (public domain, naturalearthdata.com), as shipped
in the geopandas 0.14.4 wheel (`geopandas/datasets/naturalearth_lowres`, 177 countries). Shapes
keep their ISO 3166-1 alpha-3 code (the marts' `iso3`) and name; coordinates are rounded to 0.01°
(about 1 km, far below what a world map shows) to keep the file small.

    pip download --no-deps geopandas==0.14.4 && unzip geopandas-0.14.4-*.whl 'geopandas/datasets/*'
    uv run --with pyshp python app/assets/build_world_geometry.py geopandas/datasets/naturalearth_lowres
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).with_name("world_110m.geojson")


def _round(coords: Any) -> Any:
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], 2), round(coords[1], 2)]
    return [_round(c) for c in coords]


def run(shapefile_base: str) -> None:
    import shapefile  # pyshp, only needed to regenerate

    reader = shapefile.Reader(shapefile_base)
    features = []
    for shape_record in reader.shapeRecords():
        record = shape_record.record.as_dict()
        geometry = shape_record.shape.__geo_interface__
        features.append(
            {
                "type": "Feature",
                "properties": {"iso3": None if record["iso_a3"] == "-99" else record["iso_a3"], "name": record["name"]},
                "geometry": {"type": geometry["type"], "coordinates": _round(geometry["coordinates"])},
            }
        )
    doc = {
        "type": "FeatureCollection",
        "source": "Natural Earth 1:110m Admin 0 countries (public domain), via geopandas 0.14.4 naturalearth_lowres",
        "features": features,
    }
    OUT.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    print(f"{OUT}: {len(features)} countries, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    run(sys.argv[1])
