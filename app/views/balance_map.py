"""Balance map: where immigrants outnumber emigrants and where the reverse, on a world map drawn
from geometry shipped with the app (no map tiles, no CDN). Countries too small for the 1:110m shapes
are drawn as points, so every country with a figure is on the map."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import queries
from app.controls import chart_download, release_and_year, source_caption

ASSETS = Path(__file__).resolve().parent.parent / "assets"
GEOMETRY, POINTS = ASSETS / "world_110m.geojson", ASSETS / "country_points.json"
# the table opens on the countries that matter to most readers; a control shows the rest
SMALL = 100_000
TOOLTIP = {  # field: (Vega-Lite type, title, number format)
    "country_name": ("nominal", "Country", None),
    "balance_index": ("quantitative", "Balance index", "+.2f"),
    "immigrants": ("quantitative", "Immigrants", ","),
    "emigrants": ("quantitative", "Emigrants", ","),
}


@cache
def countries() -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(GEOMETRY.read_text(encoding="utf-8"))["features"]
    return features


@cache
def points() -> pd.DataFrame:
    """Where each country too small for the shapes is drawn: iso3, lat, lon."""
    return pd.DataFrame(json.loads(POINTS.read_text(encoding="utf-8"))["points"])[["iso3", "lat", "lon"]]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as Vega-Lite reads them: a missing figure is null, not NaN."""
    records: list[dict[str, Any]] = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return records


def map_spec(balance: pd.DataFrame) -> dict[str, Any]:
    """A Vega-Lite spec written out rather than built with Altair: Altair walks every coordinate of
    the 177 country shapes on each rerun (about 0.6 s), while this hands the shapes over as a named
    GeoJSON dataset that Streamlit passes through untouched."""
    rows = _records(balance[["iso3", *TOOLTIP]])
    small = balance.merge(points(), on="iso3")[["iso3", "lat", "lon", *TOOLTIP]].dropna(subset=["balance_index"])
    shapes = {"type": "geoshape", "stroke": "white", "strokeWidth": 0.3}
    colour = {
        "field": "balance_index",
        "type": "quantitative",
        "title": "Balance index",
        "scale": {"scheme": "redblue", "domain": [-1, 1], "domainMid": 0, "reverse": True},
    }
    tooltip = [
        {"field": field, "type": kind, "title": title, **({"format": fmt} if fmt else {})}
        for field, (kind, title, fmt) in TOOLTIP.items()
    ]
    return {
        "datasets": {"world": countries()},
        "data": {"name": "world"},
        "projection": {"type": "equalEarth"},
        "height": 480,
        "layer": [
            {"mark": shapes, "encoding": {"color": {"value": "#dddddd"}}},
            {
                "mark": shapes,
                "transform": [
                    {
                        "lookup": "properties.iso3",
                        "from": {"data": {"values": rows}, "key": "iso3", "fields": list(TOOLTIP)},
                    },
                    {"filter": "isValid(datum.balance_index)"},
                ],
                "encoding": {"color": colour, "tooltip": tooltip},
            },
            {
                "data": {"values": _records(small)},
                "mark": {"type": "circle", "size": 36, "stroke": "#555555", "strokeWidth": 0.6, "opacity": 1},
                "encoding": {
                    "longitude": {"field": "lon", "type": "quantitative"},
                    "latitude": {"field": "lat", "type": "quantitative"},
                    "color": colour,
                    "tooltip": tooltip,
                },
            },
        ],
    }


release, year = release_and_year()
st.title("Who receives, who sends")
st.markdown(
    "The **balance index** is (immigrants − emigrants) / (immigrants + emigrants): "
    "**+1** (red) means only arrivals, **−1** (blue) only departures, **0** as many of each."
)

balance = queries.balances(release, year)
st.vega_lite_chart(map_spec(balance), width="stretch")
chart_download(
    balance[["iso3", "country_name", "immigrants", "emigrants", "net_migrants", "balance_index"]],
    "Balance index by country or area (people; index from -1 to +1)",
    release,
    year,
    "balance-map",
)
source_caption(release, year, "Circles: countries and areas too small to draw. Grey: no figure")

st.subheader("Every country, largest balance first")
everyone = st.toggle(
    f"Include countries with fewer than {SMALL:,} immigrants and emigrants together",
    key="balance_show_small",
    help="Small populations swing to either end of the index with a few thousand people.",
)
size = balance["immigrants"].fillna(0) + balance["emigrants"].fillna(0)
listed = balance if everyone else balance[size >= SMALL]
st.caption(
    f"{len(listed)} of {len(balance)} countries and areas"
    + ("." if everyone else f"; {len(balance) - len(listed)} with fewer than {SMALL:,} people hidden.")
)
st.dataframe(
    listed,
    hide_index=True,
    column_config={
        "iso3": "ISO3",
        "country_name": "Country or area",
        "immigrants": st.column_config.NumberColumn("Immigrants, people", format="localized"),
        "emigrants": st.column_config.NumberColumn("Emigrants, people", format="localized"),
        "net_migrants": st.column_config.NumberColumn("Net, people", format="localized"),
        "balance_index": st.column_config.NumberColumn("Balance index", format="%+.2f"),
    },
)
