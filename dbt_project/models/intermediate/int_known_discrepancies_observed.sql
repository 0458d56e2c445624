-- Each listed known discrepancy with what this build observed of it: how many locations still
-- show it and, for a single location, the two figures. The publish step copies these rows into
-- the data_quality mart, so readers see every exception with its reason.
with listed as (
    select * from {{ ref('known_discrepancies') }}
),

{% set sex_gap = "max(case when sex = 'total' then migrants end) <> max(case when sex = 'male' then migrants end) + max(case when sex = 'female' then migrants end)" %}
{% set both = "cast(max(case when sex = 'total' then migrants end) as varchar)" %}
{% set split = "cast(max(case when sex = 'male' then migrants end) + max(case when sex = 'female' then migrants end) as varchar)" %}

found as (
    select check_name, release, year, sex, location_code, null::integer as partner_code,
        coalesce(cast(reference_value as varchar), 'not available') as reference_text,
        coalesce(cast(od_value as varchar), 'not available') as od_text
    from {{ ref('int_od_reconciliation') }}
    union all
    select 'immigrants_within_population', release, year, 'total', country_code, null,
        cast(population as varchar), cast(immigrants as varchar)
    from {{ ref('country_balance') }}
    where immigrants_pct_population > 100.01
    union all
    select 'destination_totals_sexes_add_up', release, year, 'total', location_code, null, {{ both }}, {{ split }}
    from {{ ref('stg_undesa__destination_totals') }}
    group by release, year, location_code
    having {{ sex_gap }}
    union all
    select 'od_stock_sexes_add_up', release, year, 'total', destination_code, origin_code, {{ both }}, {{ split }}
    from {{ ref('stg_undesa__od_stocks') }}
    group by release, year, destination_code, origin_code
    having {{ sex_gap }}
),

names as (
    select release, location_code, any_value(location_name) as location_name
    from {{ ref('stg_undesa__destination_totals') }}
    group by release, location_code
)

select
    listed.release,
    listed.check_name,
    listed.location_code,
    listed.partner_code,
    any_value(names.location_name) as location_name,
    listed.year,
    listed.sex,
    listed.rows,
    listed.reason,
    listed.source,
    count(found.check_name) as observed_rows,
    any_value(found.reference_text) filter (where listed.location_code is not null) as reference_text,
    any_value(found.od_text) filter (where listed.location_code is not null) as observed_text
from listed
left join names
    on names.release = listed.release
    and names.location_code = listed.location_code
left join found
    on found.check_name = listed.check_name
    and found.release = listed.release
    and found.year = listed.year
    and found.sex = listed.sex
    and (listed.location_code is null or found.location_code = listed.location_code)
    and (listed.partner_code is null or found.partner_code = listed.partner_code)
group by listed.release, listed.check_name, listed.location_code, listed.partner_code, listed.year, listed.sex, listed.rows,
    listed.reason, listed.source
