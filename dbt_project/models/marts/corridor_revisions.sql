-- The same corridor (origin -> destination country) and year in every pair of editions whose
-- origin-destination tables both cover that year, and how the later edition revised it. A table
-- that does not list a pair gives it no migrants (0); a figure marked not available leaves the
-- pair out (no revision can be told); a corridor with no migrants in either edition is not listed.
with stocks as (
    select release, year, origin_code, destination_code, migrants
    from {{ ref('int_od_stocks_pivoted') }}
    where not is_other_origin
),

countries as (
    select * from {{ ref('int_countries') }}
),

tables as (
    select distinct release, year from stocks
),

editions as (
    -- the editions with an origin-destination table, in order: consecutive ones revise each other
    select release, lead(release) over (order by release) as next_release
    from (select distinct release from stocks)
),

edition_pairs as (
    select
        earlier.release as release_from,
        later.release as release_to,
        earlier.year,
        editions.next_release = later.release as is_consecutive
    from tables as earlier
    inner join tables as later
        on earlier.year = later.year
        and earlier.release < later.release
    inner join editions on earlier.release = editions.release
),

corridor_years as (
    select distinct year, origin_code, destination_code from stocks where migrants > 0
),

paired as (
    select
        pairs.release_from,
        pairs.release_to,
        pairs.is_consecutive,
        corridor_years.year,
        corridor_years.origin_code,
        corridor_years.destination_code,
        earlier.destination_code is not null and earlier.migrants is null as unknown_from,
        later.destination_code is not null and later.migrants is null as unknown_to,
        coalesce(earlier.migrants, 0) as value_from,
        coalesce(later.migrants, 0) as value_to
    from corridor_years
    inner join edition_pairs as pairs on corridor_years.year = pairs.year
    left join stocks as earlier
        on earlier.release = pairs.release_from
        and earlier.year = corridor_years.year
        and earlier.origin_code = corridor_years.origin_code
        and earlier.destination_code = corridor_years.destination_code
    left join stocks as later
        on later.release = pairs.release_to
        and later.year = corridor_years.year
        and later.origin_code = corridor_years.origin_code
        and later.destination_code = corridor_years.destination_code
)

select
    paired.release_to as release,
    paired.origin_code,
    origin.iso3 as origin_iso3,
    origin.country_name as origin_name,
    paired.destination_code,
    destination.iso3 as destination_iso3,
    destination.country_name as destination_name,
    paired.year,
    paired.release_from,
    paired.release_to,
    paired.is_consecutive,
    paired.value_from,
    paired.value_to,
    paired.value_to - paired.value_from as revision,
    100.0 * (paired.value_to - paired.value_from) / nullif(paired.value_from, 0) as revision_pct
from paired
left join countries as origin on paired.origin_code = origin.country_code
left join countries as destination on paired.destination_code = destination.country_code
where not paired.unknown_from
  and not paired.unknown_to
  and paired.value_from + paired.value_to > 0
