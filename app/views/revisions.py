"""Revisions: the same figure as two editions give it, for one country and the largest changes."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app.controls import millions, pick_country, source_caption
from app.warehouse import query

st.title("How the editions revised the figures")
st.markdown(
    "Each edition re-estimates past years with new censuses and surveys, so the same country and year can "
    "differ between editions. Compare like with like: figures of one edition with each other."
)

pairs = query("select distinct release_from, release_to from marts.release_revisions order by release_to desc")
if pairs.empty:
    st.info("The warehouse holds a single edition, so there is nothing to compare.")
    st.stop()
labels = [f"{a} → {b}" for a, b in zip(pairs["release_from"], pairs["release_to"], strict=True)]
choice = st.sidebar.selectbox("Editions compared", range(len(labels)), format_func=labels.__getitem__)
release_from, release_to = str(pairs["release_from"][choice]), str(pairs["release_to"][choice])
measure = st.sidebar.radio("Measure", ["immigrants", "emigrants"], horizontal=True)
years = list(
    query(
        "select distinct year from marts.release_revisions where release_from = ? and release_to = ? order by year",
        release_from,
        release_to,
    )["year"]
)
year = st.sidebar.selectbox("Year", years, index=len(years) - 1)

countries = query(
    "select country_code, country_name, abs(revision) as size from marts.release_revisions "
    "where release_from = ? and release_to = ? and measure = ? and year = ? order by country_name",
    release_from,
    release_to,
    measure,
    year,
)
names = dict(zip(countries["country_code"], countries["country_name"], strict=True))
most_revised = countries.sort_values("size", ascending=False, na_position="last")["country_code"].iloc[0]
country = pick_country(names, "Country or area", int(most_revised))

history = query(
    "select year, value_from, value_to, revision, revision_pct from marts.release_revisions "
    "where release_from = ? and release_to = ? and measure = ? and country_code = ? order by year",
    release_from,
    release_to,
    measure,
    country,
)
row = history[history["year"] == year]
if not row.empty:
    r = row.iloc[0]
    pct = "n/a" if pd.isna(r["revision_pct"]) else f"{r['revision_pct']:+.1f}%"
    st.markdown(
        f"**{names[country]}**, {measure} in {year}: **{millions(r['value_from'])}** in the {release_from} edition, "
        f"**{millions(r['value_to'])}** in the {release_to} edition "
        f"({pct})."
    )
long = history.melt("year", ["value_from", "value_to"], var_name="edition", value_name="people")
long["edition"] = long["edition"].map({"value_from": f"{release_from} edition", "value_to": f"{release_to} edition"})
st.altair_chart(
    alt.Chart(long)
    .mark_bar()
    .encode(
        x=alt.X("year:O", title="Year", axis=alt.Axis(labelAngle=0)),
        xOffset="edition:N",
        y=alt.Y("people:Q", title=measure.capitalize(), axis=alt.Axis(format="~s")),
        color=alt.Color("edition:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=["edition:N", "year:O", alt.Tooltip("people:Q", format=",")],
    )
    .properties(height=300),
    width="stretch",
)
source_caption(f"{release_from} and {release_to}", None, f"{names[country]}, {measure}")

st.subheader(f"Largest revisions of {measure}, {year}")
largest = query(
    "select country_name, value_from, value_to, revision, revision_pct from marts.release_revisions "
    "where release_from = ? and release_to = ? and measure = ? and year = ? and revision is not null "
    "order by abs(revision) desc limit 15",
    release_from,
    release_to,
    measure,
    year,
)
st.dataframe(
    largest,
    hide_index=True,
    column_config={
        "country_name": "Country or area",
        "value_from": st.column_config.NumberColumn(f"{release_from} edition", format="localized"),
        "value_to": st.column_config.NumberColumn(f"{release_to} edition", format="localized"),
        "revision": st.column_config.NumberColumn("Revision", format="localized"),
        "revision_pct": st.column_config.NumberColumn("Revision %", format="%+.1f%%"),
    },
)
source_caption(f"{release_from} and {release_to}", year, "Ranked by absolute change")
