"""What every page shares: the release and year selectors, captions naming the source, and the
message shown before anything is published."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app import queries

DATA_TYPES = {
    "B": "foreign-born population (place of birth)",
    "C": "foreign citizens (citizenship)",
    "I": "imputed (no data for this country; estimated by UN DESA)",
    "R": "refugees and asylum seekers added",
}


def editions(with_corridors: bool = False) -> list[str]:
    """Editions in the warehouse, newest first; optionally only those with an O-D table."""
    return list(queries.editions(with_corridors)["release"])


def release_and_year(with_corridors: bool = False) -> tuple[str, int]:
    """Sidebar selectors for the edition and reference year; the choice carries across pages.
    A page that needs corridors offers only editions that have an origin-destination table."""
    choices = editions(with_corridors)
    if not choices:
        st.warning("No edition in the warehouse has an origin-destination table, so there are no corridors to show.")
        st.stop()
    if st.session_state.get("release") not in choices:
        st.session_state["release"] = choices[0]
    release = st.sidebar.selectbox(
        "Edition",
        choices,
        key="release",
        help="Each UN DESA edition re-estimates past years: compare editions on the Revisions page.",
    )
    missing = [e for e in editions() if e not in choices]
    if missing:
        st.sidebar.caption(f"Edition {', '.join(missing)} has no origin-destination table here, so no corridors.")
    years = list(queries.years(release)["year"])
    if st.session_state.get("year") not in years:
        st.session_state["year"] = years[-1]
    year = st.sidebar.selectbox("Year", years, key="year", help="Reference year: migrant stock at mid-year.")
    return str(release), int(year)


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


def pick_country(names: dict[int, str], label: str, default: int, key: str = "country", container: Any = st) -> int:
    """A searchable country selector. Under the shared key "country" the choice carries across
    pages; `default` applies until the reader picks one."""
    codes = list(names)
    if st.session_state.get(key) not in names:
        st.session_state[key] = default if default in names else codes[0]
    choice: int = container.selectbox(label, codes, format_func=names.__getitem__, key=key, help="Type to search.")
    return choice
