-- What the origin-destination table says each location's totals are, on both sides. `stated` is
-- the table's own cell: for a destination its `Total` column or WORLD origin row, for an origin
-- its WORLD destination row (the emigrant total the older editions publish nowhere else).
-- `summed` adds the cells up: a destination's origins (countries and unknown origins), an
-- origin's country destinations; null as soon as one of them is not available, while
-- `summed_known` adds the known ones (a lower bound) and `unknown_cells` counts the others.
with od as (
    select * from {{ ref('stg_undesa__od_stocks') }}
),

od_files as (
    -- one origin-destination workbook per edition: the file every check of its cells names
    select release, any_value(source_sha256) as file_sha256 from od group by release
),

destination_stated as (
    select release, year, sex, destination_code as location_code, migrants as stated, value_flag as stated_flag,
        source_file, source_sheet, source_row, source_column
    from od
    where origin_code = {{ var('world_code') }}
),

destination_summed as (
    select release, year, sex, destination_code as location_code,
        {{ sum_if_complete('migrants') }} as summed,
        sum(migrants)::bigint as summed_known,
        count(*) filter (where migrants is null) as unknown_cells
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
    select release, year, sex, origin_code as location_code,
        {{ sum_if_complete('migrants') }} as summed,
        sum(migrants)::bigint as summed_known,
        count(*) filter (where migrants is null) as unknown_cells
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
    sides.side,
    sides.release,
    sides.year,
    sides.sex,
    sides.location_code,
    sides.location_code < {{ var('country_code_limit') }} as is_country,
    sides.stated,
    sides.stated_flag,
    sides.summed,
    coalesce(sides.summed_known, 0) as summed_known,
    coalesce(sides.unknown_cells, 0) as unknown_cells,
    od_files.file_sha256,
    sides.source_file,
    sides.source_sheet,
    sides.source_row,
    sides.source_column
from sides
inner join od_files on sides.release = od_files.release
