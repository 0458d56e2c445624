"""Corridors: any corridor in both directions, the most two-way and most one-way large pairs, and
a country's top partners as a flow diagram."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import queries
from app.charts import over_years
from app.controls import (
    chart_download,
    corridor_edition,
    country_names,
    millions,
    pair_reading,
    partners_download,
    pick_country,
    release_and_year,
    source_caption,
)

PARTNERS = 8

chosen_release, chosen_year = release_and_year()
st.title("Corridors")
shown = corridor_edition(chosen_release, chosen_year)
if shown is None:
    st.stop()
release, year = shown

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
    st.altair_chart(over_years(both, "migrants", "Migrants, people", "direction", height=280), width="stretch")
    chart_download(
        both,
        f"{names[origin]} ⇄ {names[destination]}: migrants each way by year (people)",
        release,
        None,
        f"corridor-{origin}-{destination}",
    )
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

st.subheader("Fastest-growing and fastest-shrinking large corridors")
changes = {rising: queries.corridor_changes(release, year, rising) for rising in (True, False)}
if changes[True].empty and changes[False].empty:
    st.info(f"{year} is the {release} edition's first reference year: there is no earlier year to compare with.")
else:
    step = int(changes[True]["previous_year"].iloc[0]) if not changes[True].empty else year
    st.markdown(
        f"Change in the stock of migrants between {step} and {year}, per year, among corridors of at least "
        "100,000 people: a change in how many live there (arrivals minus deaths, returns and onward moves), "
        "not the number who moved."
    )
    both_ends = pd.concat([changes[True], changes[False]]).drop_duplicates("corridor")
    st.altair_chart(
        alt.Chart(both_ends)
        .mark_bar()
        .encode(
            x=alt.X("annual_change:Q", title="Change in the stock per year, people", axis=alt.Axis(format="~s")),
            y=alt.Y("corridor:N", sort="-x", title=None, axis=alt.Axis(labelLimit=360)),
            color=alt.condition("datum.annual_change >= 0", alt.value("#1b9e77"), alt.value("#7570b3")),
            tooltip=[
                "corridor:N",
                alt.Tooltip("previous_migrants:Q", title=f"People, {step}", format=","),
                alt.Tooltip("migrants:Q", title=f"People, {year}", format=","),
                alt.Tooltip("annual_change:Q", title="Per year", format="+,.0f"),
                alt.Tooltip("annual_change_pct:Q", title="Per year, %", format="+.1f"),
            ],
        )
        .properties(height=26 * len(both_ends) + 40),
        width="stretch",
    )
    chart_download(
        both_ends,
        f"Fastest-growing and fastest-shrinking corridors of at least 100,000 people, {step}–{year} "
        "(people; per year in people and %)",
        release,
        year,
        "corridor-changes",
    )
source_caption(release, year, "Changes in stocks between reference years (mart corridor_changes)")

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
    partners_download(partners, names[origin], release, year, f"partners-{origin}", top=PARTNERS)
    source_caption(
        release,
        year,
        f"Top {PARTNERS} origins of its immigrants (left) and destinations of its emigrants (right)",
    )
