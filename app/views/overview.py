"""Overview: how many international migrants, the trend, the largest corridors."""

from __future__ import annotations

import altair as alt
import streamlit as st

from app import queries
from app.charts import over_years
from app.controls import chart_download, corridor_edition, millions, release_and_year, source_caption

release, year = release_and_year()
st.title("International migrants")
st.markdown(
    "A *migrant stock* counts the people living in a country other than the one they were born in (or, "
    "where only that is known, whose citizenship they hold) at mid-year. It is not the number who moved that "
    "year: a **corridor** (origin → destination) counts everyone born in the origin who lives in the destination."
)

world = queries.world_series(release)
now = world[world["year"] == year].iloc[0]
first = world.iloc[0]
share = now["migrants"] / now["population"] * 100 if now["population"] else None
cols = st.columns(3)
cols[0].metric(f"International migrants, {year}", millions(now["migrants"]))
cols[1].metric("Share of the world's population", f"{share:.1f}%" if share else "n/a")
cols[2].metric(
    f"Change since {int(first['year'])}",
    f"{(now['migrants'] / first['migrants'] - 1) * 100:+.0f}%",
    help="Change in the world's migrant stock between the first and the chosen year of this edition.",
)

st.subheader(f"World total, {int(first['year'])}–{int(world['year'].max())}")
st.altair_chart(over_years(world, "migrants", "International migrants, people"), width="stretch")
chart_download(
    world, "The world's international migrants and population by year (people)", release, None, "world-total"
)
source_caption(release, None, "Sum over countries of destination")

st.subheader("The 20 largest corridors")
shown = corridor_edition(release, year)
if shown is None:
    st.stop()
corridor_release, corridor_year = shown
top = queries.largest_corridors(corridor_release, corridor_year, 20)
bars = (
    alt.Chart(top)
    .mark_bar()
    .encode(
        x=alt.X("migrants:Q", title="Migrants, people", axis=alt.Axis(format="~s")),
        y=alt.Y("corridor:N", sort=alt.SortField("rank"), title=None, axis=alt.Axis(labelLimit=340)),
        color=alt.Color(
            "direction:N",
            title="Direction",
            scale=alt.Scale(
                domain=["two-way", "mostly one-way", "one-way", "not known"],
                range=["#e6550d", "#6baed6", "#08519c", "#bdbdbd"],
            ),
        ),
        tooltip=[
            "rank:Q",
            "corridor:N",
            alt.Tooltip("migrants:Q", format=","),
            alt.Tooltip("reverse_migrants:Q", format=",", title="the other way"),
            alt.Tooltip("asymmetry_index:Q", format=".2f"),
        ],
    )
    .properties(height=520)
)
st.altair_chart(bars, width="stretch")
chart_download(
    top[["rank", "corridor", "migrants", "reverse_migrants", "asymmetry_index", "direction"]],
    "The 20 largest corridors (people)",
    corridor_release,
    corridor_year,
    "largest-corridors",
)
source_caption(
    corridor_release,
    corridor_year,
    "Two-way: the reverse corridor is at least a third as large (|asymmetry| ≤ 0.5); one-way: under a "
    "twentieth (≥ 0.9)",
)

st.subheader("In numbers")
facts = [f"The largest corridor is **{top['corridor'].iloc[0]}**: {millions(top['migrants'].iloc[0])} people."]
if corridor_release == release:
    facts.append(f"The 20 largest corridors hold **{top['migrants'].sum() / now['migrants'] * 100:.0f}%** of all.")
facts.append(f"**{int((top['direction'] == 'two-way').sum())} of the 20** run substantially both ways.")
hosts = queries.largest(release, year, "immigrants").iloc[0]
senders = queries.largest(release, year, "emigrants").iloc[0]
facts.append(
    f"**{hosts['country_name']}** hosts the most immigrants ({millions(hosts['immigrants'])}) in {year}; "
    f"**{senders['country_name']}** has the most emigrants ({millions(senders['emigrants'])})."
)
st.markdown("\n".join(f"- {fact}" for fact in facts))
source_caption(release, year, "Computed from the marts")
