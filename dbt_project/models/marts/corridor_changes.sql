-- How each corridor's stock changed between consecutive reference years of an edition, and the
-- average change per year over the step (five years up to 2020; four from 2020 to 2024). A change
-- in a stock, not a flow: arrivals minus deaths, departures and returns over the years between.
with reference_years as (
    select release, unnest(reference_years) as year from {{ ref('releases') }} where has_corridors
),

steps as (
    select
        release,
        lag(year) over (partition by release order by year) as previous_year,
        year
    from reference_years
),

stocks as (
    select release, year, origin_code, destination_code, origin_name, destination_name, migrants
    from {{ ref('corridors') }}
)

select
    steps.release,
    steps.previous_year,
    steps.year,
    cur.origin_code,
    cur.destination_code,
    cur.origin_name,
    cur.destination_name,
    prev.migrants as previous_migrants,
    cur.migrants,
    cur.migrants - prev.migrants as change,
    steps.year - steps.previous_year as years_between,
    (cur.migrants - prev.migrants) / (steps.year - steps.previous_year) as annual_change,
    100 * (power(cur.migrants / prev.migrants, 1.0 / (steps.year - steps.previous_year)) - 1) as annual_change_pct
from steps
inner join stocks as cur
    on cur.release = steps.release and cur.year = steps.year
inner join stocks as prev
    on prev.release = steps.release
    and prev.year = steps.previous_year
    and prev.origin_code = cur.origin_code
    and prev.destination_code = cur.destination_code
where steps.previous_year is not null
