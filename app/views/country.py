"""Country profile: immigrants and emigrants over time, balance, share of population, partners,
sex split and what the estimate is based on."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from app import queries
from app.charts import MEASURE_COLOURS, over_years
from app.controls import (
    balance_reading,
    chart_download,
    corridor_edition,
    country_names,
    data_type_note,
    millions,
    partners_download,
    pick_country,
    release_and_year,
    source_caption,
)

release, year = release_and_year()
st.title("Country profile")

names = country_names(release)
largest = queries.largest(release, year, "immigrants")["country_code"].iloc[0]
country = pick_country(names, "Country or area", int(largest))

series = queries.country_series(release, country)
now = series[series["year"] == year].iloc[0]
cols = st.columns(4)
cols[0].metric(f"Immigrants, {year}", millions(now["immigrants"]))
cols[1].metric(f"Emigrants, {year}", millions(now["emigrants"]))
balance = now["balance_index"]
cols[2].metric(
    "Balance index",
    "n/a" if pd.isna(balance) else f"{balance:+.2f}",
    help="(immigrants − emigrants) / (immigrants + emigrants): +1 only arrivals, −1 only departures, 0 balanced.",
)
pct = now["immigrants_pct_population"]
cols[3].metric("Immigrants as % of population", "n/a" if pd.isna(pct) else f"{pct:.1f}%")
st.markdown(f"In {year}, {names[country]} had {balance_reading(now['immigrants'], now['emigrants'], balance)}.")
st.caption(
    f"Estimate based on: {data_type_note(now['data_type'])}."
    + (" Totals here come from the origin-destination table." if now["source"] == "od_table" else "")
)
if (
    now["emigrants_source"] == "od_world_row"
    and not pd.isna(now["emigrants_od_sum"])
    and now["emigrants_od_sum"] != now["emigrants"]
):
    st.warning(
        f"Unverified: the {release} edition's emigrant total for {names[country]} in {year} "
        f"({millions(now['emigrants'])}, the WORLD row of its origin-destination table) is not what its own "
        f"country cells add up to ({millions(now['emigrants_od_sum'])}). The copy of this table available here "
        "comes from a third party; see Data & quality, known discrepancies."
    )

left, right = st.columns(2)
long = series.melt("year", ["immigrants", "emigrants"], var_name="measure", value_name="people")
left.markdown("**Immigrants and emigrants**")
left.altair_chart(over_years(long, "people", "People", "measure", colours=MEASURE_COLOURS), width="stretch")
right.markdown("**Balance index**")
right.altair_chart(
    alt.Chart(series)
    .mark_bar()
    .encode(
        x=alt.X("year:O", title="Year", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("balance_index:Q", title="Balance index", scale=alt.Scale(domain=[-1, 1])),
        color=alt.condition(
            "datum.balance_index >= 0",
            alt.value(MEASURE_COLOURS["immigrants"]),
            alt.value(MEASURE_COLOURS["emigrants"]),
        ),
        tooltip=["year:O", alt.Tooltip("balance_index:Q", format="+.2f")],
    )
    .properties(height=260),
    width="stretch",
)
chart_download(
    series[["year", "immigrants", "emigrants", "balance_index"]],
    f"{names[country]}: immigrants, emigrants and balance index by year (people)",
    release,
    None,
    f"country-{country}",
)
source_caption(release, None, names[country])

st.subheader("Partners")
shown = corridor_edition(release, year)
partners_release, partners_year = shown if shown is not None else (release, year)
partners = queries.partners(partners_release, partners_year, country, 10) if shown is not None else None
left, right = st.columns(2)
for column, direction, title in (
    (left, "from", "Top origins of its immigrants"),
    (right, "to", "Top destinations of its emigrants"),
):
    if partners is None:
        break
    column.markdown(f"**{title}**")
    part = partners[partners["direction"] == direction]
    if part.empty:
        column.caption("None recorded for this country in this edition.")
        continue
    labelled = part.assign(
        label=[
            f"{millions(n)} ({s:.0f} %)" if s >= 10 else f"{millions(n)} ({s:.1f} %)"
            for n, s in zip(part["migrants"], part["share_pct"], strict=True)
        ]
    )
    base = alt.Chart(labelled).encode(
        x=alt.X(
            "share_pct:Q", title="Share of the total, %", scale=alt.Scale(domain=[0, 1.6 * part["share_pct"].max()])
        ),
        y=alt.Y("partner_name:N", sort="-x", title=None, axis=alt.Axis(labelLimit=240)),
        tooltip=[
            "partner_name:N",
            alt.Tooltip("migrants:Q", format=","),
            alt.Tooltip("share_pct:Q", title="share, %", format=".1f"),
        ],
    )
    column.altair_chart(
        (base.mark_bar() + base.mark_text(align="left", dx=4).encode(text="label:N")).properties(height=280),
        width="stretch",
    )
if partners is not None and not partners.empty:
    partners_download(partners, names[country], partners_release, partners_year, f"partners-{country}")
source_caption(partners_release, partners_year, names[country])

st.markdown("**Women and men**")
sexes = pd.DataFrame(
    {
        "measure": ["immigrants", "immigrants", "emigrants", "emigrants"],
        "sex": ["female", "male", "female", "male"],
        "people": [now["immigrants_female"], now["immigrants_male"], now["emigrants_female"], now["emigrants_male"]],
    }
).dropna()
unsplit = [m for m in ("immigrants", "emigrants") if m not in set(sexes["measure"])]
if unsplit:
    st.caption(
        f"The {release} edition gives no split by sex of {' or '.join(unsplit)} for {names[country]} in {year} "
        "(its origin-destination table here holds both sexes only, or the figure is not available)."
    )
st.altair_chart(
    alt.Chart(sexes)
    .mark_bar()
    .encode(
        x=alt.X("people:Q", stack="normalize", title="Share of each measure, %", axis=alt.Axis(format="%")),
        y=alt.Y("measure:N", title=None),
        color=alt.Color("sex:N", title=None, scale=alt.Scale(range=["#9e3d8c", "#3b8ea5"])),
        tooltip=["measure:N", "sex:N", alt.Tooltip("people:Q", format=",")],
    )
    .properties(height=120),
    width="stretch",
)
chart_download(sexes, f"{names[country]}: immigrants and emigrants by sex (people)", release, year, f"sexes-{country}")
source_caption(release, year, names[country])
