"""Corridors: any corridor in both directions, the most two-way and most one-way large pairs, and
a country's top partners as a flow diagram."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from app import queries
from app.charts import over_years
from app.controls import country_names, millions, pair_reading, pick_country, release_and_year, source_caption

PARTNERS = 8

release, year = release_and_year(with_corridors=True)
st.title("Corridors")

names = country_names(release)
top = queries.largest_corridors(release, year, 1).iloc[0]

left, right = st.columns(2)
origin = pick_country(names, "From (country of origin)", int(top["origin_code"]), "corridor_origin", left)
destination = pick_country(
    names, "To (country of destination)", int(top["destination_code"]), "corridor_destination", right
)

both = queries.corridor_both_ways(release, origin, destination)
st.subheader(f"{names[origin]} ⇄ {names[destination]}")
if both.empty:
    st.info(f"No migrants are recorded between {names[origin]} and {names[destination]} in the {release} edition.")
else:
    now = both[both["year"] == year]
    for direction, migrants in zip(now["direction"], now["migrants"], strict=True):
        st.markdown(f"- {direction}: **{millions(migrants)}** in {year}")
    st.markdown(pair_reading(queries.pair_direction(release, year, origin, destination)))
    st.altair_chart(over_years(both, "migrants", "Migrants", "direction", height=280), width="stretch")
source_caption(release, None, "Both directions over time")

st.subheader("Large corridors that run both ways, and those that run one way")
two_way = queries.largest_pairs(release, year, "two-way")
one_way = queries.largest_pairs(release, year, "one-way")
columns: dict[str, Any] = {
    "pair": "Pair (larger direction first)",
    "total": st.column_config.NumberColumn("Total, people", format="localized"),
    "larger": st.column_config.NumberColumn("Larger direction, people", format="localized"),
    "reverse": st.column_config.NumberColumn("Reverse, people", format="localized"),
    "reverse_share": st.column_config.NumberColumn("Reverse as % of larger", format="percent"),
    "asymmetry_index": st.column_config.NumberColumn("Asymmetry", format="%.2f"),
}
st.markdown("**Two-way** (|asymmetry| ≤ 0.5: the smaller direction is at least a third of the larger), largest first")
st.dataframe(two_way, column_config=columns, hide_index=True)
st.markdown("**One-way** (|asymmetry| ≥ 0.9: the smaller direction is under a twentieth), largest first")
st.dataframe(one_way, column_config=columns, hide_index=True)
source_caption(release, year, "Asymmetry = (larger − reverse) / (larger + reverse): 0 balanced, 1 one way only")

st.subheader(f"Who moved to {names[origin]}, and where its emigrants live")
partners = queries.partners(release, year, origin, PARTNERS)
if partners.empty:
    st.info(f"No partner data for {names[origin]} in {year}.")
else:
    sources = partners[partners["direction"] == "from"]
    targets = partners[partners["direction"] == "to"]
    labels = [f"{n} (origin)" for n in sources["partner_name"]] + [names[origin]]
    labels += [f"{n} (destination)" for n in targets["partner_name"]]
    centre = len(sources)
    figure = go.Figure(
        go.Sankey(
            node={"label": labels, "pad": 12, "thickness": 14, "color": "#3182bd"},
            link={
                "color": "rgba(49, 130, 189, 0.25)",
                "source": list(range(len(sources))) + [centre] * len(targets),
                "target": [centre] * len(sources) + list(range(centre + 1, centre + 1 + len(targets))),
                "value": list(sources["migrants"]) + list(targets["migrants"]),
            },
        )
    )
    figure.update_layout(height=460, margin={"l": 10, "r": 10, "t": 10, "b": 10}, font={"size": 13, "color": "#262730"})
    st.plotly_chart(figure, width="stretch", config={"displaylogo": False})
    source_caption(
        release,
        year,
        f"Top {PARTNERS} origins of its immigrants (left) and destinations of its emigrants (right)",
    )
