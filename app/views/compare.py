"""Compare: several countries' immigrants, emigrants, balance or immigrant share on one chart, over
the reference years of an edition. The countries and the measure live in the link
(`?countries=KAZ,RUS,UZB&measure=emigrants`)."""

from __future__ import annotations

import streamlit as st

from app import queries
from app.charts import over_years
from app.controls import (
    MEASURES,
    chart_download,
    country_from_link,
    country_names,
    iso3_of,
    link_once,
    pick_measure,
    release_and_year,
    source_caption,
)

MOST = 8  # more lines than this cannot be told apart


release, year = release_and_year()
st.title("Compare countries")
names = country_names(release)
measure = pick_measure(list(queries.COMPARABLE), "compare_measure")
links = iso3_of(names)

raw = link_once("countries")
if raw is not None:
    parse = country_from_link(links)
    asked = [value.strip() for value in raw.split(",") if value.strip()]
    found = list(dict.fromkeys(code for code in map(parse, asked) if code is not None))
    unknown = [value for value in asked if parse(value) is None]
    if unknown:
        st.warning(
            f"The link asks for {', '.join(f'“{v}”' for v in unknown)}, which the {release} edition does not "
            "have; showing the others."
        )
    if len(found) > MOST:
        st.warning(
            f"The link names {len(found)} countries; showing the first {MOST}, as many as one chart can tell apart."
        )
    st.session_state["compare_wanted"] = found[:MOST]
if "compare_wanted" not in st.session_state:
    st.session_state["compare_wanted"] = [
        int(c) for c in queries.largest(release, year, "immigrants", 5)["country_code"]
    ]
# the reader's choice outlives an edition that lacks some of its countries; the widget shows those it has
wanted: list[int] = st.session_state["compare_wanted"]
lacking = [c for c in wanted if c not in names]
st.session_state["compare_countries"] = [c for c in wanted if c in names]


def _keep_choice() -> None:
    chosen_now = st.session_state["compare_countries"]
    st.session_state["compare_wanted"] = (
        chosen_now + [c for c in lacking if c not in chosen_now][: MOST - len(chosen_now)]
    )


chosen: list[int] = st.multiselect(
    "Countries or areas",
    list(names),
    format_func=names.__getitem__,
    key="compare_countries",
    max_selections=MOST,
    help=f"Type to search; up to {MOST}.",
    on_change=_keep_choice,
)
if lacking:
    everywhere = queries.current_country_names()
    known = dict(zip(everywhere["country_code"], everywhere["country_name"], strict=True))
    st.caption(
        f"The {release} edition has no figures for {', '.join(known.get(c, str(c)) for c in lacking)}, "
        "chosen in another edition; they come back in an edition that has them."
    )
st.query_params["countries"] = ",".join(links[c] for c in chosen)

if not chosen:
    st.info("Pick one or more countries to compare.")
    st.stop()
series = queries.compare_series(release, chosen, measure)
about = MEASURES[measure]
title = f"{about.name}, {about.unit}"
domain = (-1.0, 1.0) if measure == "balance_index" else None
chart = over_years(series, "value", title, "country_name", height=380, number=about.number, domain=domain)
st.altair_chart(chart, width="stretch")
chart_download(
    series.rename(columns={"value": measure}),
    f"{about.name} of {', '.join(names[c] for c in chosen)} by year ({about.unit})",
    release,
    None,
    f"compare-{measure}",
)
source_caption(release, None, f"{about.label} by reference year")
missing = [names[c] for c in chosen if c not in set(series["country_code"])]
if missing:
    st.caption(f"No {about.label.lower()} figure in the {release} edition for {', '.join(missing)}.")
