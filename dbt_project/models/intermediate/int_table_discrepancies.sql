-- Disagreements within one official table, found where the table is read: a sex split that does
-- not add up to both sexes (the totals workbook, the origin-destination table), and more
-- immigrants than inhabitants (country_balance). Shaped like int_od_reconciliation, so the same
-- known_discrepancies seed lists them with their figures; the quality suites (sexes) and a dbt
-- test (population) accept only the listed ones.
{% set total = "max(case when sex = 'total' then migrants end)" %}
{% set split = "max(case when sex = 'male' then migrants end) + max(case when sex = 'female' then migrants end)" %}

with destination_sexes as (
    select 'destination_totals_sexes_add_up' as check_name, release, year, 'total' as sex,
        location_code, null::integer as partner_code, any_value(source_sha256) as file_sha256,
        any_value(source_file) as source_file, any_value(source_sheet) as source_sheet,
        min(source_row) as source_row, null as source_column,
        {{ total }} as reference_value, {{ split }} as od_value
    from {{ ref('stg_undesa__destination_totals') }}
    group by release, year, location_code
    having {{ total }} <> {{ split }}
),

od_sexes as (
    select 'od_stock_sexes_add_up' as check_name, release, year, 'total' as sex,
        destination_code as location_code, origin_code as partner_code, any_value(source_sha256) as file_sha256,
        any_value(source_file) as source_file, null as source_sheet, min(source_row) as source_row,
        null as source_column, {{ total }} as reference_value, {{ split }} as od_value
    from {{ ref('stg_undesa__od_stocks') }}
    group by release, year, destination_code, origin_code
    having {{ total }} <> {{ split }}
),

population as (
    select 'immigrants_within_population' as check_name, balance.release, balance.year, 'total' as sex,
        balance.country_code as location_code, null::integer as partner_code, totals.source_sha256 as file_sha256,
        null as source_file, null as source_sheet, balance.immigrants_source_row as source_row,
        null as source_column, balance.population as reference_value, balance.immigrants as od_value
    from {{ ref('country_balance') }} as balance
    inner join {{ ref('int_destination_totals_pivoted') }} as totals
        on balance.release = totals.release and balance.year = totals.year and balance.country_code = totals.country_code
    where balance.immigrants_pct_population > 100.01  -- past a person's worth of rounding in thousands
)

select *, od_value - reference_value as difference from destination_sexes
union all by name
select *, od_value - reference_value as difference from od_sexes
union all by name
select *, od_value - reference_value as difference from population
