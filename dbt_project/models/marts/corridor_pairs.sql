-- Each unordered pair of countries once (a = the lower code), with both directions, the total and
-- the asymmetry index: near 0 = the corridor runs both ways, near +-1 = one way.
with corridors as (
    select * from {{ ref('corridors') }}
),

countries as (
    select * from {{ ref('int_countries_resolved') }}
),

pairs as (
    select
        release,
        year,
        least(origin_code, destination_code) as country_a_code,
        greatest(origin_code, destination_code) as country_b_code,
        sum(case when origin_code < destination_code then migrants else 0 end)::bigint as a_to_b,
        sum(case when origin_code > destination_code then migrants else 0 end)::bigint as b_to_a
    from corridors
    group by all
),

final as (
    select
        pairs.release,
        pairs.year,
        pairs.country_a_code,
        a.iso3 as country_a_iso3,
        a.country_name as country_a_name,
        pairs.country_b_code,
        b.iso3 as country_b_iso3,
        b.country_name as country_b_name,
        pairs.a_to_b,
        pairs.b_to_a,
        pairs.a_to_b + pairs.b_to_a as total,
        {{ effectiveness_index('pairs.a_to_b', 'pairs.b_to_a') }} as asymmetry_index,
        dense_rank() over (
            partition by pairs.release, pairs.year
            order by pairs.a_to_b + pairs.b_to_a desc
        ) as rank
    from pairs
    inner join countries as a
        on pairs.release = a.release
        and pairs.country_a_code = a.country_code
    inner join countries as b
        on pairs.release = b.release
        and pairs.country_b_code = b.country_code
)

select * from final
