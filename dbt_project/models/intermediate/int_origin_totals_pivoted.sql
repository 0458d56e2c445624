-- Official emigrant stock per country of origin (origin workbook), sexes side by side.
with totals as (
    select * from {{ ref('stg_undesa__origin_totals') }}
    where is_country
),

pivoted as (
    select
        release,
        year,
        location_code as country_code,
        {{ pivot_by_sex('migrants', 'emigrants') }},
        any_value(source_sha256) as source_sha256,
        min(source_row) as source_row
    from totals
    group by release, year, location_code
)

select * from pivoted
