-- Origin-destination stocks between countries (and from origin "Other"), one row per release, year,
-- destination and origin with the sexes side by side. Aggregate rows and columns are left out.
with od as (
    select * from {{ ref('stg_undesa__od_stocks') }}
    where is_country_destination
      and (is_country_origin or is_other_origin)
),

pivoted as (
    select
        release,
        year,
        destination_code,
        origin_code,
        is_other_origin,
        {{ pivot_by_sex('migrants', 'migrants') }},
        any_value(source_sha256) as source_sha256,
        min(source_row) as source_row
    from od
    group by release, year, destination_code, origin_code, is_other_origin
)

select * from pivoted
