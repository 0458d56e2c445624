"""Regenerate `country_points.json`: a point for each country or area too small for the 1:110m
shapes (`world_110m.geojson`), so the balance map can draw every country with data (Monaco, Tuvalu,
Hong Kong, the Channel Islands ...).

Source: the `latlng` (approximate centre; the capital's position where no centre is given) of each
country in the countryinfo 1.0.1 wheel (MIT licence, data from REST Countries), keyed by ISO 3166-1
alpha-3. UN DESA's Channel Islands (CHI, not an ISO code) are placed at the mean of Jersey and
Guernsey; Bonaire, Sint Eustatius and Saba at Kralendijk (its first capital). Coordinates are rounded to 0.01°.

    pip download --no-deps countryinfo==1.0.1 && unzip countryinfo-1.0.1-*.whl 'countryinfo/data/*'
    uv run python app/assets/build_country_points.py countryinfo/data
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.assets.build_world_geometry import OUT as SHAPES

OUT = Path(__file__).with_name("country_points.json")
# UN DESA areas with no ISO code of their own: code -> the ISO areas whose mean position places them
COMPOSITES = {"CHI": ("Channel Islands", ("JEY", "GGY"))}


def run(countryinfo_data: str) -> None:
    shaped = {f["properties"]["iso3"] for f in json.loads(SHAPES.read_text(encoding="utf-8"))["features"]}
    found: dict[str, tuple[str, float, float]] = {}
    for path in sorted(Path(countryinfo_data).glob("*.json")):
        info = json.loads(path.read_text(encoding="utf-8"))
        iso3 = (info.get("ISO") or {}).get("alpha3")
        position = info.get("latlng") or info.get("capital_latlng")
        if position and isinstance(position[0], list):  # several capitals (BES): the first, Kralendijk
            position = position[0]
        if iso3 and position:
            found[iso3] = (info["name"], float(position[0]), float(position[1]))
    for code, (name, parts) in COMPOSITES.items():
        lats, lons = zip(*((found[p][1], found[p][2]) for p in parts), strict=True)
        found[code] = (name, sum(lats) / len(lats), sum(lons) / len(lons))
    points = [
        {"iso3": iso3, "name": name, "lat": round(lat, 2), "lon": round(lon, 2)}
        for iso3, (name, lat, lon) in sorted(found.items())
        if iso3 not in shaped
    ]
    source = "countryinfo 1.0.1 (MIT; REST Countries data): latlng of each country without a 1:110m shape"
    lines = ",\n".join(json.dumps(point, ensure_ascii=False) for point in points)  # a point a line, to review
    OUT.write_text(f'{{"source": {json.dumps(source)}, "points": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"{OUT}: {len(points)} points, {OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    run(sys.argv[1])
