"""What every page shares: the release, year and country selectors, captions naming the source, and
the message shown before anything is published.

The selections live in the page's link (`?edition=2024&year=2024&country=KAZ`), so a reader can
share what they see: a link's values are taken once, when the page opens, and each selection is
written back to the link as it changes. A value the warehouse does not have falls back to the
default with a notice."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import pandas as pd
import streamlit as st

from app import queries


class Measure(NamedTuple):
    """How a page names a measure: `label` on a selector, `name` in a sentence or an axis title
    (followed by `unit`), and `number`, the d3 format of an exact value."""

    label: str
    name: str
    unit: str
    number: str


MEASURES = {
    "immigrants": Measure("Immigrants", "Immigrants", "people", ","),
    "emigrants": Measure("Emigrants", "Emigrants", "people", ","),
    "balance_index": Measure(
        "Balance index", "Balance index", "index from −1, only departures, to +1, only arrivals", "+.2f"
    ),
    "immigrants_pct_population": Measure("Immigrants, % of population", "Immigrants", "% of the population", ".1f"),
}
DATA_TYPES = {
    "B": "foreign-born population (place of birth)",
    "C": "foreign citizens (citizenship)",
    "I": "imputed (no data for this country; estimated by UN DESA)",
    "R": "refugees and asylum seekers added",
}


def editions(with_corridors: bool = False) -> list[str]:
    """Editions in the warehouse, newest first; optionally only those with an O-D table."""
    return list(queries.editions(with_corridors)["release"])


def release_and_year() -> tuple[str, int]:
    """Sidebar selectors for the edition and reference year; the choice carries across pages and
    lives in the link. A section that needs corridors applies `corridor_edition` to the choice."""
    choices = editions()
    link_choice("release", "edition", choices, "edition")
    release = st.sidebar.selectbox(
        "Edition",
        choices,
        key="release",
        help="Each UN DESA edition re-estimates past years: compare editions on the Revisions page.",
    )
    years = list(queries.years(release)["year"])
    link_choice("year", "year", years, "year", default=years[-1])
    year = st.sidebar.selectbox("Year", years, key="year", help="Reference year: migrant stock at mid-year.")
    st.query_params["edition"], st.query_params["year"] = str(release), str(year)
    return str(release), int(year)


def _taken() -> set[str]:
    """The link parameters this session has read already."""
    taken: set[str] = st.session_state.setdefault("_taken_from_link", set())
    return taken


def link_once(param: str) -> str | None:
    """The link's value for `param` the first time a page asks in this session, else None: a link
    opens a selection, and the reader's later choices are not overridden by it."""
    if param in _taken():
        return None
    _taken().add(param)
    raw = st.query_params.get(param)
    return None if raw is None else str(raw)


def link_pending(*params: str) -> bool:
    """Whether the link carries one of `params` that no page has read yet."""
    return any(p in st.query_params and p not in _taken() for p in params)


def _from_link(key: str, param: str, parse: Callable[[str], Any], what: str, default: Any) -> None:
    """Once per session, before its widget: the link's value for `param`, if this page can show it,
    becomes the selection; otherwise the default stays and a notice says so."""
    raw = link_once(param)
    if raw is None:
        return
    value = parse(raw.strip())
    if value is None:
        st.warning(f"The link asks for {what} “{raw}”, which this page cannot show; showing {default} instead.")
        return
    st.session_state[key] = value


def link_choice(
    key: str, param: str, choices: list[Any], what: str, default: Any = None, explained: Iterable[str] = ()
) -> None:
    """Before a selectbox over `choices`: the link's `param` if it is one of them (matched as text),
    else the current choice if still offered, else `default` (the first choice). A value in
    `explained` (one the page already says it cannot show, and why) falls back without a notice."""
    fallback = choices[0] if default is None else default
    by_text: dict[str, Any] = {str(c): c for c in choices} | {str(e): fallback for e in explained}
    _from_link(key, param, by_text.get, what, fallback)
    if st.session_state.get(key) not in choices:
        st.session_state[key] = fallback


def corridor_edition(release: str, year: int) -> tuple[str, int] | None:
    """The one rule for an edition without an origin-destination table, on every page that shows
    corridors or partners: one sentence says so, the section shows the latest edition that has
    them (its latest year), and a button switches the whole page to that edition. None when no
    edition has corridors."""
    with_corridors = editions(with_corridors=True)
    if not with_corridors:
        st.info("No edition in this warehouse has an origin-destination table, so there are no corridors to show.")
        return None
    if release in with_corridors:
        return release, year
    latest = with_corridors[0]
    latest_year = int(queries.last_corridor_year(latest)["y"].iloc[0])
    st.info(
        f"The {release} edition has no origin-destination table in this warehouse, so these corridors come from "
        f"the {latest} edition, for {latest_year}."
    )
    st.button(f"Show the {latest} edition", key=f"switch_to_{latest}", on_click=_switch_edition, args=(latest,))
    return latest, latest_year


def _switch_edition(release: str) -> None:
    st.session_state["release"] = release


def source_caption(release: str, year: int | None = None, what: str = "") -> None:
    when = f", mid-year {year}" if year is not None else ""
    st.caption(f"{what + ' · ' if what else ''}UN DESA International Migrant Stock, {release} edition{when}.")


def millions(n: float | None) -> str:
    if n is None:
        return "n/a"
    return f"{n / 1e6:,.1f} million" if abs(n) >= 1e6 else f"{n:,.0f}"


def data_type_note(codes: str | None) -> str:
    if not codes:
        return "not stated"
    return "; ".join(DATA_TYPES.get(code, code) for code in codes.split())


def country_names(release: str) -> dict[int, str]:
    """Countries and areas of an edition, code -> the edition's own name, in name order."""
    rows = queries.country_names(release)
    return dict(zip(rows["country_code"], rows["country_name"], strict=True))


# the link parameter of each country selector: the shared choice, and a corridor's two ends
COUNTRY_LINKS = {"country": "country", "corridor_origin": "from", "corridor_destination": "to"}


def iso3_of(names: dict[int, str]) -> dict[int, str]:
    """Each country's ISO3 code, the form links use (`?country=KAZ`); the numeric code where none."""
    rows = queries.iso3_codes()
    iso3 = dict(zip(rows["country_code"], rows["iso3"], strict=True))
    return {code: iso3.get(code) or str(code) for code in names}


def country_from_link(links: dict[int, str]) -> Callable[[str], int | None]:
    """Reads a link's country: ISO3 (`KAZ`) or UN DESA's numeric code (`398`), if one of `links`
    (an edition's countries, from iso3_of)."""
    by_link = {value: code for code, value in links.items()}

    def parse(value: str) -> int | None:
        code = by_link.get(value.upper()) or (int(value) if value.isdigit() else None)
        return code if code in links else None

    return parse


def pick_country(names: dict[int, str], label: str, default: int, key: str = "country", container: Any = st) -> int:
    """A searchable country selector. Under the shared key "country" the choice carries across
    pages; `default` applies until the reader picks one. The choice lives in the link under the
    key's name in COUNTRY_LINKS (`?country=KAZ`, `?from=MEX&to=USA`)."""
    codes = list(names)
    fallback = default if default in names else codes[0]
    link = COUNTRY_LINKS.get(key)
    links = iso3_of(names) if link is not None else {}
    if link is not None:
        _from_link(key, link, country_from_link(links), "country", names[fallback])
    if st.session_state.get(key) not in names:
        st.session_state[key] = fallback
    choice: int = container.selectbox(label, codes, format_func=names.__getitem__, key=key, help="Type to search.")
    if link is not None:
        st.query_params[link] = links[choice]
    return choice


def pick_measure(choices: list[str], key: str, label: str = "Measure", container: Any = st) -> str:
    """A measure (`immigrants`, `emigrants` ...) chosen with a radio, linked as `?measure=`."""
    link_choice(key, "measure", choices, "measure")
    choice: str = container.radio(label, choices, horizontal=True, key=key, format_func=lambda m: MEASURES[m].label)
    st.query_params["measure"] = choice
    return choice


def balance_reading(immigrants: float | None, emigrants: float | None, index: float | None) -> str:
    """The balance index in words: `more emigrants than immigrants (balance −0.14)`."""
    if immigrants is None or emigrants is None or index is None or pd.isna(index):
        return "not available"
    if immigrants > emigrants:
        side = "more immigrants than emigrants"
    elif emigrants > immigrants:
        side = "more emigrants than immigrants"
    else:
        side = "as many immigrants as emigrants"
    return f"{side} (balance {index:+.2f})".replace("-", "−")


def pair_reading(pair: pd.DataFrame) -> str:
    """A pair of countries in words, from the marts' `direction`: `Two-way: the reverse is 96 % as
    large.` (empty when the pair or a flow is not available)."""
    if pair.empty or pd.isna(pair["a_to_b"].iloc[0]) or pd.isna(pair["b_to_a"].iloc[0]):
        return ""
    a_to_b, b_to_a = float(pair["a_to_b"].iloc[0]), float(pair["b_to_a"].iloc[0])
    larger = max(a_to_b, b_to_a)
    share = min(a_to_b, b_to_a) / larger if larger else 0.0
    direction = str(pair["direction"].iloc[0] or "not known")
    return f"{direction.capitalize()}: the reverse is {share:.0%} as large."


def chart_csv(frame: pd.DataFrame, what: str, release: str, year: int | None) -> bytes:
    """A chart's data as the CSV its download serves: exactly the rows and columns it draws, figures
    rounded to three decimals, headed by what it is, the edition (or editions, `2015, 2017`) and
    year, and the citation and terms each edition's workbooks give."""
    facts = queries.releases().set_index("release")
    when = f", mid-year {year}" if year is not None else ""
    editions = [r.strip() for r in release.split(",")]
    several = len(editions) > 1
    named = f"editions {release}" if several else f"{release} edition"
    head = [f"# {what}", f"# UN DESA International Migrant Stock, {named}{when}"]
    for edition in (e for e in editions if e in facts.index):
        which = f" ({edition})" if several else ""
        head += [
            f"# Citation{which}: {facts.loc[edition, 'citation']}",
            f"# Terms{which}: {facts.loc[edition, 'licence']}",
        ]
    shown = frame.copy()
    for column in shown.columns:
        if shown[column].dtype.kind == "f":
            shown[column] = shown[column].round(3)
    body: str = shown.to_csv(index=False)
    return ("\n".join(head) + "\n" + body).encode()


def chart_download(
    frame: pd.DataFrame, what: str, release: str, year: int | None, key: str, container: Any = st
) -> None:
    """The button that downloads a chart's data (chart_csv), named for the chart."""
    container.download_button(
        "Download this chart's data (CSV)",
        data=lambda: chart_csv(frame, what, release, year),
        file_name=f"{key}-{release.replace(', ', '-')}{f'-{year}' if year is not None else ''}.csv",
        mime="text/csv",
        key=f"download_{key}",
        on_click="ignore",
    )


def partners_download(
    partners: pd.DataFrame, country: str, release: str, year: int | None, key: str, top: int | None = None
) -> None:
    """The download of a country's partners chart, worded the same on every page that draws one."""
    largest = f"top {top}" if top else "top"
    what = (
        f"{country}: {largest} origins of its immigrants (from) and destinations of its emigrants (to); "
        "people, share of the country's total in %"
    )
    chart_download(partners, what, release, year, key)
