-- Official immigrant stock per country (destination workbook), sexes side by side.
with totals as (
    select * from {{ ref('stg_undesa__destination_totals') }}
    where is_country
),

pivoted as (
    select
        release,
        year,
        location_code as country_code,
        {{ pivot_by_sex('migrants', 'immigrants') }},
        any_value(data_type) as data_type,
        any_value(notes) as notes,
        any_value(source_sha256) as source_sha256,
        min(source_row) as source_row
    from totals
    group by release, year, location_code
)

select * from pivoted
