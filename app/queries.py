"""Every question the app asks the warehouse, one named function each; the pages call these, and
the benchmark (bench/app_queries.py) times them by name.

Each takes its values as parameters (user input never becomes SQL text) and returns a DataFrame,
empty before the first refresh. Rules such as a corridor's direction live in the marts, not here.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd

from app import warehouse

# the marts a reader may download whole (the Data & quality page)
MARTS = (
    "corridors",
    "corridor_pairs",
    "corridor_revisions",
    "corridor_changes",
    "country_balance",
    "country_partners",
    "countries",
    "region_flows",
    "release_revisions",
    "releases",
)


def _q(sql: str, *params: object) -> pd.DataFrame:
    return warehouse.query(sql, *params)


# --- editions and years ---------------------------------------------------------------------------


def editions(with_corridors: bool = False) -> pd.DataFrame:
    """Editions in the warehouse, newest first; optionally only those with an O-D table."""
    if with_corridors:
        return _q("select distinct release from marts.corridors order by release desc")
    return _q("select distinct release from marts.country_balance order by release desc")


def releases() -> pd.DataFrame:
    """Each edition's citation, licence and what its O-D table gives."""
    return _q(
        "select release, citation, licence, has_corridors, corridor_sexes from marts.releases order by release desc"
    )


def years(release: str) -> pd.DataFrame:
    return _q("select distinct year from marts.country_balance where release = ? order by year", release)


def last_corridor_year(release: str) -> pd.DataFrame:
    return _q("select max(year) as y from marts.corridors where release = ?", release)


# --- countries ------------------------------------------------------------------------------------


def country_names(release: str) -> pd.DataFrame:
    """Countries and areas of an edition with the edition's own names, in name order."""
    return _q(
        "select distinct country_code, country_name from marts.country_balance where release = ? order by country_name",
        release,
    )


def iso3_codes() -> pd.DataFrame:
    """Each country's ISO3 code (the form a shared link uses: `?country=KAZ`)."""
    return _q("select country_code, iso3 from marts.countries where iso3 is not null")


def current_country_names() -> pd.DataFrame:
    return _q("select country_code, country_name from marts.countries order by country_name")


def world_series(release: str) -> pd.DataFrame:
    """The world's migrant stock and population per year of an edition."""
    return _q(
        "select year, sum(immigrants) as migrants, sum(population) as population "
        "from marts.country_balance where release = ? group by year order by year",
        release,
    )


def largest(release: str, year: int, measure: Literal["immigrants", "emigrants"], top: int = 1) -> pd.DataFrame:
    """The `top` countries with the most immigrants (or emigrants) in a year, largest first."""
    column = {"immigrants": "immigrants", "emigrants": "emigrants"}[measure]  # never user text
    return _q(
        f"select country_code, country_name, {column} from marts.country_balance where release = ? and year = ? "
        f"order by {column} desc nulls last, country_code limit ?",
        release,
        year,
        top,
    )


COMPARABLE = ("immigrants", "emigrants", "balance_index", "immigrants_pct_population")


def compare_series(release: str, countries: list[int], measure: str) -> pd.DataFrame:
    """Several countries' `measure` (one of COMPARABLE) every year of an edition, in the order given."""
    if measure not in COMPARABLE:
        raise ValueError(f"not a measure to compare: {measure!r}")
    return _q(
        f"select year, country_code, country_name, {measure} as value from marts.country_balance "
        f"where release = ? and list_contains(?, country_code) and {measure} is not null "
        "order by list_position(?, country_code), year",
        release,
        countries,
        countries,
    )


def country_series(release: str, country: int) -> pd.DataFrame:
    """A country's balance, every year of an edition."""
    return _q(
        "select year, immigrants, emigrants, net_migrants, balance_index, immigrants_pct_population, "
        "immigrants_male, immigrants_female, emigrants_male, emigrants_female, data_type, source, "
        "emigrants_source, emigrants_od_sum "
        "from marts.country_balance where release = ? and country_code = ? order by year",
        release,
        country,
    )


def balances(release: str, year: int) -> pd.DataFrame:
    """Every country's balance in a year, for the map."""
    return _q(
        "select iso3, country_name, immigrants, emigrants, net_migrants, balance_index "
        "from marts.country_balance where release = ? and year = ? order by balance_index desc nulls last",
        release,
        year,
    )


def partners(release: str, year: int, country: int, top: int) -> pd.DataFrame:
    """A country's largest origins (`from`) and destinations (`to`), with shares."""
    return _q(
        "select direction, partner_name, migrants, share_pct from marts.country_partners "
        "where release = ? and year = ? and country_code = ? and rank <= ? order by direction, rank",
        release,
        year,
        country,
        top,
    )


# --- corridors ------------------------------------------------------------------------------------


def largest_corridors(release: str, year: int, top: int) -> pd.DataFrame:
    return _q(
        "select rank, origin_code, destination_code, origin_name, destination_name, "
        "origin_name || ' → ' || destination_name as corridor, migrants, reverse_migrants, asymmetry_index, "
        "coalesce(direction, 'not known') as direction "
        "from marts.corridors where release = ? and year = ? and rank <= ? order by rank",
        release,
        year,
        top,
    )


def corridor_both_ways(release: str, origin: int, destination: int) -> pd.DataFrame:
    """A corridor and its reverse, every year of an edition."""
    return _q(
        "select year, origin_name || ' → ' || destination_name as direction, migrants from marts.corridors "
        "where release = ? and ((origin_code = ? and destination_code = ?) "
        "or (origin_code = ? and destination_code = ?)) order by year",
        release,
        origin,
        destination,
        destination,
        origin,
    )


def largest_pairs(release: str, year: int, direction: str, top: int = 10) -> pd.DataFrame:
    """The largest pairs of a direction (the marts' `direction`: two-way, mostly one-way, one-way),
    each written with its larger direction first."""
    return _q(
        "select case when a_to_b >= b_to_a then country_a_name || ' → ' || country_b_name "
        "else country_b_name || ' → ' || country_a_name end as pair, total, "
        "greatest(a_to_b, b_to_a) as larger, least(a_to_b, b_to_a) as reverse, "
        "least(a_to_b, b_to_a) / greatest(a_to_b, b_to_a) as reverse_share, abs(asymmetry_index) as asymmetry_index "
        "from marts.corridor_pairs where release = ? and year = ? and total is not null and direction = ? "
        "order by total desc limit ?",
        release,
        year,
        direction,
        top,
    )


def corridor_changes(release: str, year: int, rising: bool, at_least: int = 100_000, top: int = 10) -> pd.DataFrame:
    """The large corridors (at least `at_least` people in either year) whose stock grew (`rising`)
    or shrank the most per year over the step that ends in `year`."""
    order = "desc" if rising else "asc"
    return _q(
        "select origin_name || ' → ' || destination_name as corridor, previous_year, previous_migrants, migrants, "
        "annual_change, annual_change_pct from marts.corridor_changes where release = ? and year = ? "
        f"and greatest(migrants, previous_migrants) >= ? order by annual_change {order}, corridor limit ?",
        release,
        year,
        at_least,
        top,
    )


def pair_direction(release: str, year: int, a: int, b: int) -> pd.DataFrame:
    """The marts' reading of a pair of countries in a year: its direction and both flows."""
    return _q(
        "select direction, a_to_b, b_to_a from marts.corridor_pairs where release = ? and year = ? "
        "and country_a_code = least(?, ?) and country_b_code = greatest(?, ?)",
        release,
        year,
        a,
        b,
        a,
        b,
    )


# --- revisions ------------------------------------------------------------------------------------


def largest_revision_country(measure: str) -> pd.DataFrame:
    return _q(
        "select country_code from marts.release_revisions where measure = ? and revision is not null "
        "order by abs(revision) desc limit 1",
        measure,
    )


def country_across_editions(country: int, measure: str) -> pd.DataFrame:
    """A country's immigrants or emigrants (`measure`) in every edition."""
    column = {"immigrants": "immigrants", "emigrants": "emigrants"}[measure]  # never user text
    return _q(
        f"select release || ' edition' as edition, year, {column} as people from marts.country_balance "
        f"where country_code = ? and {column} is not null order by release, year",
        country,
    )


def corridor_across_editions(origin: int, destination: int) -> pd.DataFrame:
    return _q(
        "select release || ' edition' as edition, year, migrants as people from marts.corridors "
        "where origin_code = ? and destination_code = ? order by release, year",
        origin,
        destination,
    )


def revision_years(release_from: str, release_to: str) -> pd.DataFrame:
    return _q(
        "select distinct year from marts.corridor_revisions where release_from = ? and release_to = ? order by year",
        release_from,
        release_to,
    )


def largest_corridor_revisions(release_from: str, release_to: str, year: int, top: int = 20) -> pd.DataFrame:
    return _q(
        "select origin_name, destination_name, value_from, value_to, revision, revision_pct "
        "from marts.corridor_revisions where release_from = ? and release_to = ? and year = ? "
        "order by abs(revision) desc, origin_code, destination_code limit ?",
        release_from,
        release_to,
        year,
        top,
    )


def unrevised_corridors(release_from: str, release_to: str, year: int) -> pd.DataFrame:
    return _q(
        "select count(*) filter (where revision = 0) as same, count(*) as n from marts.corridor_revisions "
        "where release_from = ? and release_to = ? and year = ?",
        release_from,
        release_to,
        year,
    )


# --- runs and quality -----------------------------------------------------------------------------


def pipeline_runs() -> pd.DataFrame:
    return _q(
        "select run_id, started_at, finished_at, status, duration_seconds, editions, input_files, missing_files, "
        "warnings, checks_passed, checks_failed from marts.pipeline_runs order by finished_at desc"
    )


def quality_results() -> pd.DataFrame:
    return _q(
        'select suite, expectation, "table", "column", release, success, unexpected_count, observed, why '
        "from marts.data_quality where suite <> 'known_discrepancies' order by success, suite, release"
    )


def known_discrepancies() -> pd.DataFrame:
    return _q(
        'select release, "table" as about, expectation as check_name, "column" as location, observed, success, why '
        "from marts.data_quality where suite = 'known_discrepancies' order by release desc, expectation, location"
    )


def whole_mart(mart: str) -> pd.DataFrame:
    """A mart, whole (one of MARTS: the name is checked, never taken as SQL)."""
    if mart not in MARTS:
        raise ValueError(f"not a mart: {mart!r}")
    return _q(f"select * from marts.{mart}")
