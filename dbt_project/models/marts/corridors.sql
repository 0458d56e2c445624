-- Country-to-country migrant stocks ("corridors"), ranked within each release and year, with the
-- stock running the other way and the pair's asymmetry. Origin "Other" is not a corridor.
with pairs as (
    select * from {{ ref('int_od_stocks_pivoted') }}
    where not is_other_origin
),

stocks as (
    select * from pairs
    where migrants > 0
),

countries as (
    select * from {{ ref('int_countries_resolved') }}
),

with_reverse as (
    select
        stocks.*,
        -- a direction the table does not list holds no migrants; one marked not available ('..')
        -- is unknown, and so is the asymmetry that depends on it
        case when reverse.origin_code is null then 0 else reverse.migrants end as reverse_migrants
    from stocks
    left join pairs as reverse
        on stocks.release = reverse.release
        and stocks.year = reverse.year
        and stocks.origin_code = reverse.destination_code
        and stocks.destination_code = reverse.origin_code
),

final as (
    select
        with_reverse.release,
        with_reverse.year,
        with_reverse.origin_code,
        origin.iso3 as origin_iso3,
        origin.country_name as origin_name,
        with_reverse.destination_code,
        destination.iso3 as destination_iso3,
        destination.country_name as destination_name,
        with_reverse.migrants,
        with_reverse.migrants_male,
        with_reverse.migrants_female,
        row_number() over (
            partition by with_reverse.release, with_reverse.year
            order by with_reverse.migrants desc, with_reverse.origin_code, with_reverse.destination_code
        ) as rank,
        with_reverse.reverse_migrants,
        {{ effectiveness_index('with_reverse.migrants', 'with_reverse.reverse_migrants') }} as asymmetry_index,
        {{ corridor_direction(effectiveness_index('with_reverse.migrants', 'with_reverse.reverse_migrants')) }}
            as direction,
        with_reverse.migrants + with_reverse.reverse_migrants as pair_total,
        origin.sdg_region_name as origin_region,
        destination.sdg_region_name as destination_region,
        with_reverse.source_sha256,
        with_reverse.source_row
    from with_reverse
    left join countries as origin
        on with_reverse.release = origin.release
        and with_reverse.origin_code = origin.country_code
    left join countries as destination
        on with_reverse.release = destination.release
        and with_reverse.destination_code = destination.country_code
)

select * from final
