-- Per country: where its immigrants come from (direction 'from', unknown origins included) and where
-- its emigrants live (direction 'to'), each partner with its share of the country's total.
with stocks as (
    select * from {{ ref('int_od_stocks_pivoted') }}
    where migrants > 0
),

countries as (
    select * from {{ ref('int_countries_resolved') }}
),

directed as (
    select release, year, destination_code as country_code, 'from' as direction,
        origin_code as partner_code, migrants
    from stocks
    union all
    select release, year, origin_code as country_code, 'to' as direction,
        destination_code as partner_code, migrants
    from stocks
    where not is_other_origin
),

shared as (
    select
        *,
        (sum(migrants) over (partition by release, year, country_code, direction))::bigint as country_total,
        row_number() over (
            partition by release, year, country_code, direction
            order by migrants desc, partner_code
        ) as rank
    from directed
),

final as (
    select
        shared.release,
        shared.year,
        shared.country_code,
        country.country_name,
        shared.direction,
        shared.partner_code,
        coalesce(unknown.name, partner.country_name) as partner_name,
        unknown.origin_code is null as partner_is_country,
        shared.migrants,
        100.0 * shared.migrants / shared.country_total as share_pct,
        shared.rank,
        shared.country_total
    from shared
    left join countries as country
        on shared.release = country.release
        and shared.country_code = country.country_code
    left join countries as partner
        on shared.release = partner.release
        and shared.partner_code = partner.country_code
    left join {{ ref('unknown_origins') }} as unknown
        on shared.partner_code = unknown.origin_code
)

select * from final
