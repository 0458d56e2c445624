"""Balance map: where immigrants outnumber emigrants and where the reverse, on a world map drawn
from geometry shipped with the app (no map tiles, no CDN)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import altair as alt
import streamlit as st

from app.controls import release_and_year, source_caption
from app.warehouse import query

GEOMETRY = Path(__file__).resolve().parent.parent / "assets" / "world_110m.geojson"


@cache
def countries() -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = json.loads(GEOMETRY.read_text(encoding="utf-8"))["features"]
    return features


release, year = release_and_year()
st.title("Who receives, who sends")
st.markdown(
    "The **balance index** is (immigrants − emigrants) / (immigrants + emigrants): "
    "**+1** (red) means only arrivals, **−1** (blue) only departures, **0** as many of each."
)

balance = query(
    "select iso3, country_name, immigrants, emigrants, net_migrants, balance_index "
    "from marts.country_balance where release = ? and year = ? order by balance_index desc nulls last",
    release,
    year,
)
shapes = alt.Data(values=countries())  # type: ignore[no-untyped-call]
base = alt.Chart(shapes).mark_geoshape(stroke="white", strokeWidth=0.3)
choropleth = (
    base.transform_lookup(
        lookup="properties.iso3",
        from_=alt.LookupData(balance, "iso3", ["country_name", "balance_index", "immigrants", "emigrants"]),
    )
    .encode(
        color=alt.Color(
            "balance_index:Q",
            title="Balance index",
            scale=alt.Scale(scheme="redblue", domain=[-1, 1], domainMid=0, reverse=True),
        ),
        tooltip=[
            alt.Tooltip("country_name:N", title="Country"),
            alt.Tooltip("balance_index:Q", format="+.2f", title="Balance index"),
            alt.Tooltip("immigrants:Q", format=","),
            alt.Tooltip("emigrants:Q", format=","),
        ],
    )
    .project("equalEarth")
    .properties(height=480)
)
missing = base.encode(color=alt.value("#dddddd"))
st.altair_chart(missing + choropleth, use_container_width=True)
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
