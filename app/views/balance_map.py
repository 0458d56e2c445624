"""Balance map: where immigrants outnumber emigrants and where the reverse, on a world map drawn
from geometry shipped with the app (no map tiles, no CDN)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import queries
from app.controls import release_and_year, source_caption

GEOMETRY = Path(__file__).resolve().parent.parent / "assets" / "world_110m.geojson"
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


def map_spec(balance: pd.DataFrame) -> dict[str, Any]:
    """A Vega-Lite spec written out rather than built with Altair: Altair walks every coordinate of
    the 177 country shapes on each rerun (about 0.6 s), while this hands the shapes over as a named
    GeoJSON dataset that Streamlit passes through untouched."""
    rows = balance[["iso3", *TOOLTIP]].astype(object).where(balance.notna(), None).to_dict("records")
    shapes = {"type": "geoshape", "stroke": "white", "strokeWidth": 0.3}
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
                "encoding": {
                    "color": {
                        "field": "balance_index",
                        "type": "quantitative",
                        "title": "Balance index",
                        "scale": {"scheme": "redblue", "domain": [-1, 1], "domainMid": 0, "reverse": True},
                    },
                    "tooltip": [
                        {"field": field, "type": kind, "title": title, **({"format": fmt} if fmt else {})}
                        for field, (kind, title, fmt) in TOOLTIP.items()
                    ],
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
source_caption(release, year, "Grey: no figure. Small islands are too small for this map: see the table")

st.dataframe(
    balance,
    hide_index=True,
    column_config={
        "iso3": "ISO3",
        "country_name": "Country or area",
        "immigrants": st.column_config.NumberColumn("Immigrants", format="localized"),
        "emigrants": st.column_config.NumberColumn("Emigrants", format="localized"),
        "net_migrants": st.column_config.NumberColumn("Net", format="localized"),
        "balance_index": st.column_config.NumberColumn("Balance index", format="%+.2f"),
    },
)
