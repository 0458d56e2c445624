-- Migrant stocks between SDG regions: origin region x destination region, summed over country
-- pairs; migrants whose origin is "Other" are kept under origin region 'Other (origin unknown)'.
-- A flow with a country-pair figure marked not available is itself not available (null);
-- `migrants_known` sums the pairs that give a figure (a lower bound) and `unavailable_pairs` counts
-- the others, so an edition whose early years have gaps (Rev.2019's 1990) still shows what it gives.
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
        case
            when stocks.is_other_origin then 'Other (origin unknown)'  -- 'Other', 'Other North', 'Other South'
            else origin.sdg_region_name
        end as origin_region,
        destination.sdg_region_name as destination_region,
        {{ sum_if_complete('stocks.migrants') }} as migrants,
        sum(stocks.migrants)::bigint as migrants_known,
        count(*) filter (where stocks.migrants is null) as unavailable_pairs,
        {{ sum_if_complete('stocks.migrants_male') }} as migrants_male,
        {{ sum_if_complete('stocks.migrants_female') }} as migrants_female,
        count(*) filter (where stocks.migrants > 0) as corridors
    from stocks
    left join countries as destination
        on stocks.release = destination.release
        and stocks.destination_code = destination.country_code
    left join countries as origin
        on stocks.release = origin.release
        and stocks.origin_code = origin.country_code
    group by all
)

select * from flows
