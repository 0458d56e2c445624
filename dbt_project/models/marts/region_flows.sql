-- Migrant stocks between SDG regions: origin region x destination region, summed over country
-- pairs; migrants whose origin is "Other" are kept under origin region 'Other (origin unknown)'.
with stocks as (
    select * from {{ ref('int_od_stocks_pivoted') }}
),

countries as (
    select * from {{ ref('int_countries_resolved') }}
),

flows as (
    select
        stocks.release,
        stocks.year,
        coalesce(origin.sdg_region_name, 'Other (origin unknown)') as origin_region,
        destination.sdg_region_name as destination_region,
        sum(stocks.migrants)::bigint as migrants,
        sum(stocks.migrants_male)::bigint as migrants_male,
        sum(stocks.migrants_female)::bigint as migrants_female,
        count(*) filter (where stocks.migrants > 0) as corridors
    from stocks
    inner join countries as destination
        on stocks.release = destination.release
        and stocks.destination_code = destination.country_code
    left join countries as origin
        on stocks.release = origin.release
        and stocks.origin_code = origin.country_code
    group by all
)

select * from flows
