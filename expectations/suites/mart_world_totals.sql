-- The rows the suite mart_world_totals validates (mart_world_totals.json): Per edition and year, the marts add up to the official WORLD rows: immigrants over all countries = the destination workbook's WORLD; emigrants plus origin 'Other' = the origin workbook's WORLD; region flows = WORLD where the edition has an O-D table. An edition-year with a region flow marked not available is not compared.
with world_in as (
    select release, year, migrants from staging.stg_undesa__destination_totals where location_code = 900 and sex = 'total'
),
world_out as (
    select release, year, migrants from staging.stg_undesa__origin_totals where location_code = 900 and sex = 'total'
),
other_out as (
    select release, year, migrants from staging.stg_undesa__origin_totals where location_code = 2003 and sex = 'total'
),
balance as (
    select release, year, sum(immigrants) as immigrants, sum(emigrants) as emigrants,
        bool_and(immigrants_source = 'destination_workbook') as official_in,
        bool_and(emigrants_source = 'origin_workbook') as official_out
    from marts.country_balance group by release, year
),
flows as (
    select release, year, sum(migrants) as migrants from marts.region_flows group by release, year
    having bool_and(migrants is not null)  -- a flow marked not available leaves nothing to compare
)
select 'immigrants' as measure, w.release, w.year, w.migrants as official_world, b.immigrants as mart_total,
    b.immigrants - w.migrants as difference
from world_in as w join balance as b on b.release = w.release and b.year = w.year and b.official_in
union all
select 'emigrants + Other', w.release, w.year, w.migrants, b.emigrants + coalesce(o.migrants, 0),
    b.emigrants + coalesce(o.migrants, 0) - w.migrants
from world_out as w join balance as b on b.release = w.release and b.year = w.year and b.official_out
left join other_out as o on o.release = w.release and o.year = w.year
union all
select 'region flows', w.release, w.year, w.migrants, f.migrants, f.migrants - w.migrants
from world_in as w join flows as f on f.release = w.release and f.year = w.year
