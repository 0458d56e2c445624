"""Corridors: any corridor in both directions, the most two-way and most one-way large pairs, and
a country's top partners as a flow diagram."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from app.charts import over_years
from app.controls import country_names, millions, pick_country, release_and_year, source_caption
from app.warehouse import query

PARTNERS = 8

release, year = release_and_year(with_corridors=True)
st.title("Corridors")

names = country_names(release)
top = query(
    "select origin_code, destination_code from marts.corridors where release = ? and year = ? and rank = 1",
    release,
    year,
).iloc[0]

left, right = st.columns(2)
origin = pick_country(names, "From (country of origin)", int(top["origin_code"]), "corridor_origin", left)
destination = pick_country(
    names, "To (country of destination)", int(top["destination_code"]), "corridor_destination", right
)

both = query(
    "select year, origin_name || ' → ' || destination_name as direction, migrants from marts.corridors "
    "where release = ? and ((origin_code = ? and destination_code = ?) or (origin_code = ? and destination_code = ?)) "
    "order by year",
    release,
    origin,
    destination,
    destination,
    origin,
)
st.subheader(f"{names[origin]} ⇄ {names[destination]}")
if both.empty:
    st.info(f"No migrants are recorded between {names[origin]} and {names[destination]} in the {release} edition.")
else:
    now = both[both["year"] == year]
    for direction, migrants in zip(now["direction"], now["migrants"], strict=True):
        st.markdown(f"- {direction}: **{millions(migrants)}** in {year}")
    st.altair_chart(over_years(both, "migrants", "Migrants", "direction", height=280), width="stretch")
source_caption(release, None, "Both directions over time")

st.subheader("Large corridors that run both ways, and those that run one way")
pairs_sql = (
    "select country_a_name || ' ⇄ ' || country_b_name as pair, total, a_to_b, b_to_a, asymmetry_index "
    "from marts.corridor_pairs where release = ? and year = ? and total is not null and {where} "
    "order by total desc limit 10"
)
two_way = query(pairs_sql.format(where="direction = 'two-way'"), release, year)
one_way = query(pairs_sql.format(where="direction = 'one-way'"), release, year)
columns: dict[str, Any] = {
    "pair": "Pair",
    "total": st.column_config.NumberColumn("Total", format="localized"),
    "a_to_b": st.column_config.NumberColumn("First → second", format="localized"),
    "b_to_a": st.column_config.NumberColumn("Second → first", format="localized"),
    "asymmetry_index": st.column_config.NumberColumn("Asymmetry", format="%.2f"),
}
st.markdown("**Two-way** (|asymmetry| ≤ 0.5: the smaller direction is at least a third of the larger), largest first")
st.dataframe(two_way, column_config=columns, hide_index=True)
st.markdown("**One-way** (|asymmetry| ≥ 0.9: the smaller direction is under a twentieth), largest first")
st.dataframe(one_way, column_config=columns, hide_index=True)
source_caption(release, year, "Asymmetry = (A→B − B→A) / (A→B + B→A): 0 balanced, ±1 one way only")

st.subheader(f"Who moved to {names[origin]}, and where its emigrants live")
partners = query(
    "select direction, partner_name, migrants, share from marts.country_partners "
    "where release = ? and year = ? and country_code = ? and rank <= ? order by direction, rank",
    release,
    year,
    origin,
    PARTNERS,
)
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
