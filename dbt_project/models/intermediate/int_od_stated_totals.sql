-- What the origin-destination table says each location's totals are, on both sides. `stated` is
-- the table's own cell: for a destination its `Total` column or WORLD origin row, for an origin
-- its WORLD destination row (the emigrant total the older editions publish nowhere else).
-- `summed` adds the cells up: a destination's origins (countries and unknown origins), an
-- origin's country destinations; null as soon as one of them is not available.
with od as (
    select * from {{ ref('stg_undesa__od_stocks') }}
),

destination_stated as (
    select release, year, sex, destination_code as location_code, migrants as stated, value_flag as stated_flag,
        source_file, source_sheet, source_row, source_column
    from od
    where origin_code = {{ var('world_code') }}
),

destination_summed as (
    select release, year, sex, destination_code as location_code, {{ sum_if_complete('migrants') }} as summed
    from od
    where is_country_origin or is_other_origin
    group by release, year, sex, destination_code
),

origin_stated as (
    select release, year, sex, origin_code as location_code, migrants as stated, value_flag as stated_flag,
        source_file, source_sheet, source_row, source_column
    from od
    where destination_code = {{ var('world_code') }}
),

origin_summed as (
    select release, year, sex, origin_code as location_code, {{ sum_if_complete('migrants') }} as summed
    from od
    where is_country_destination
    group by release, year, sex, origin_code
),

sides as (
    select 'destination' as side, *
    from destination_stated full outer join destination_summed using (release, year, sex, location_code)
    union all by name
    select 'origin' as side, *
    from origin_stated full outer join origin_summed using (release, year, sex, location_code)
)

select
    side,
    release,
    year,
    sex,
    location_code,
    location_code < {{ var('country_code_limit') }} as is_country,
    stated,
    stated_flag,
    summed,
    source_file,
    source_sheet,
    source_row,
    source_column
from sides
