-- Each unordered pair of countries once (a = the lower code), with both directions, the total and
-- the asymmetry index: near 0 = the corridor runs both ways, near +-1 = one way. A direction the
-- table does not list counts 0; one marked not available makes the total and index unknown.
with stocks as (
    select * from {{ ref('int_od_stocks_pivoted') }}
    where not is_other_origin
),

countries as (
    select * from {{ ref('int_countries_resolved') }}
),

folded as (
    select
        release,
        year,
        least(origin_code, destination_code) as country_a_code,
        greatest(origin_code, destination_code) as country_b_code,
        bool_or(origin_code < destination_code and migrants is null) as a_to_b_unknown,
        bool_or(origin_code > destination_code and migrants is null) as b_to_a_unknown,
        coalesce(max(case when origin_code < destination_code then migrants end), 0) as a_to_b_listed,
        coalesce(max(case when origin_code > destination_code then migrants end), 0) as b_to_a_listed
    from stocks
    group by all
),

pairs as (
    select
        release,
        year,
        country_a_code,
        country_b_code,
        case when a_to_b_unknown then null else a_to_b_listed end as a_to_b,
        case when b_to_a_unknown then null else b_to_a_listed end as b_to_a
    from folded
    where a_to_b_listed + b_to_a_listed > 0
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
        {{ corridor_direction(effectiveness_index('pairs.a_to_b', 'pairs.b_to_a')) }} as direction,
        case when pairs.a_to_b + pairs.b_to_a is not null then
            row_number() over (
                partition by pairs.release, pairs.year
                order by pairs.a_to_b + pairs.b_to_a desc nulls last, pairs.country_a_code, pairs.country_b_code
            )
        end as rank
    from pairs
    left join countries as a
        on pairs.release = a.release
        and pairs.country_a_code = a.country_code
    left join countries as b
        on pairs.release = b.release
        and pairs.country_b_code = b.country_code
)

select * from final
