"""Revisions: every edition's estimate of the same series on one chart (a country's immigrants or
emigrants, or one corridor), and the largest revisions between two chosen editions."""

from __future__ import annotations

import streamlit as st

from app import queries
from app.charts import vintages
from app.controls import (
    MEASURES,
    chart_download,
    link_choice,
    link_pending,
    millions,
    pick_country,
    pick_measure,
)

st.title("How the editions revised the figures")
st.markdown(
    "Each edition re-estimates past years with new censuses and surveys, so the same country, corridor and "
    "year can differ between editions. Each line below is one edition's estimate of the same series."
)

everything = queries.releases()
if len(everything) < 2:
    st.info("The warehouse holds a single edition, so there is nothing to compare.")
    st.stop()
with_corridors = [str(r) for r, c in zip(everything["release"], everything["has_corridors"], strict=True) if c]
without = [str(r) for r in everything["release"] if str(r) not in with_corridors]
countries = queries.current_country_names()
names = dict(zip(countries["country_code"], countries["country_name"], strict=True))

# a link to a corridor (`?from=MEX&to=USA`) opens the corridor series
if link_pending("from", "to"):
    st.session_state["revision_series"] = "A corridor"
what = st.sidebar.radio("Series", ["A country", "A corridor"], horizontal=True, key="revision_series")
# a link says one series: the other mode's parameters leave it
for stale in ("from", "to") if what == "A country" else ("measure", "country"):
    st.query_params.pop(stale, None)
if what == "A country":
    measure = pick_measure(["immigrants", "emigrants"], "revision_measure", container=st.sidebar)
    largest_revision = queries.largest_revision_country(measure)
    default = int(largest_revision["country_code"].iloc[0]) if not largest_revision.empty else next(iter(names))
    country = pick_country(names, "Country or area", default)
    series = queries.country_across_editions(country, measure)
    heading = f"{names[country]}: {MEASURES[measure].name.lower()} as each edition estimates them"
    key = f"revisions-{measure}-{country}"
else:
    left, right = st.columns(2)
    origin = pick_country(names, "From (country of origin)", 484, "corridor_origin", left)
    destination = pick_country(names, "To (country of destination)", 840, "corridor_destination", right)
    series = queries.corridor_across_editions(origin, destination)
    heading = f"{names[origin]} → {names[destination]}: migrants as each edition estimates them"
    key = f"revisions-{origin}-{destination}"
    if without:
        st.caption(f"Edition {', '.join(without)} has no origin-destination table here, so no corridor figures.")

st.subheader(heading)
if series.empty:
    st.info("No edition gives a figure for this series.")
else:
    st.altair_chart(vintages(series, "people", "People"), width="stretch")
    by_edition = series[series["year"] == series.groupby("edition")["year"].transform("max")]
    latest = "; ".join(
        f"{e}: {millions(p)} ({y})" for e, y, p in by_edition[["edition", "year", "people"]].itertuples(index=False)
    )
    shown = ", ".join(sorted({str(e).split()[0] for e in series["edition"]}))
    st.caption(f"Latest figure of each edition: {latest}. UN DESA International Migrant Stock, editions {shown}.")
    chart_download(series, f"{heading} (people)", shown, None, key)

st.subheader("Largest corridor revisions between two editions")
if len(with_corridors) < 2:
    st.info("Fewer than two editions have an origin-destination table here, so corridors cannot be compared.")
    st.stop()
if without:
    st.caption(
        f"Edition {', '.join(without)} has no origin-destination table here, so its corridors cannot be compared."
    )
left, middle, right = st.columns(3)
# the later edition is linked as `?edition=`; the defaults are the two newest with corridors
later = with_corridors[:-1]
link_choice("revision_to", "edition", later, "a later edition with corridors", explained=without)
release_to = left.selectbox("Later edition", later, key="revision_to")
earlier = [r for r in with_corridors if r < release_to]
link_choice("revision_from", "since", earlier, "an earlier edition with corridors")
release_from = middle.selectbox("Earlier edition", earlier, key="revision_from")
years = list(queries.revision_years(release_from, release_to)["year"])
if not years:
    st.info(f"The {release_from} and {release_to} editions' origin-destination tables share no reference year.")
    st.stop()
link_choice("revision_year", "year", years, "a year both editions give", default=years[-1])
year = right.selectbox("Year", years, key="revision_year")
st.query_params.update(edition=release_to, since=release_from, year=str(year))
largest = queries.largest_corridor_revisions(release_from, release_to, year)
st.dataframe(
    largest,
    hide_index=True,
    column_config={
        "origin_name": "From",
        "destination_name": "To",
        "value_from": st.column_config.NumberColumn(f"{release_from} edition", format="localized"),
        "value_to": st.column_config.NumberColumn(f"{release_to} edition", format="localized"),
        "revision": st.column_config.NumberColumn("Revision, people", format="localized"),
        "revision_pct": st.column_config.NumberColumn("Revision %", format="%+.1f%%"),
    },
)
unrevised = queries.unrevised_corridors(release_from, release_to, year).iloc[0]
share = 0.0 if not unrevised["n"] else 100 * unrevised["same"] / unrevised["n"]
st.caption(
    f"Corridors of mid-year {year} as the {release_from} and {release_to} editions of UN DESA International "
    f"Migrant Stock give them, ranked by absolute change; {int(unrevised['same']):,} of {int(unrevised['n']):,} "
    f"corridors ({share:.0f} %) were not revised. A corridor one edition does not list counts 0."
)
