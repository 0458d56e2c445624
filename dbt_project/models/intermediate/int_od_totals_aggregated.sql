-- What the origin-destination table says each country's totals are: immigrants = the sum over its
-- origins (countries and "Other"), emigrants = the sum over country destinations. Used to
-- reconcile against the official totals and as the fallback when an edition lacks them. A sum
-- that includes a figure marked not available is itself not available (null), never understated.
with od as (
    select * from {{ ref('stg_undesa__od_stocks') }}
    where is_country_destination
),

as_destination as (
    select
        release, year, sex, destination_code as country_code,
        {{ sum_if_complete('migrants') }} as od_immigrants,
        count(*) filter (where migrants is null) as od_immigrants_unavailable
    from od
    where is_country_origin or is_other_origin
    group by release, year, sex, destination_code
),

as_origin as (
    select
        release, year, sex, origin_code as country_code,
        {{ sum_if_complete('migrants') }} as od_emigrants,
        count(*) filter (where migrants is null) as od_emigrants_unavailable
    from od
    where is_country_origin
    group by release, year, sex, origin_code
),

aggregated as (
    select
        coalesce(d.release, o.release) as release,
        coalesce(d.year, o.year) as year,
        coalesce(d.sex, o.sex) as sex,
        coalesce(d.country_code, o.country_code) as country_code,
        d.od_immigrants,
        coalesce(d.od_immigrants_unavailable, 0) as od_immigrants_unavailable,
        o.od_emigrants,
        coalesce(o.od_emigrants_unavailable, 0) as od_emigrants_unavailable
    from as_destination as d
    full outer join as_origin as o
        on d.release = o.release
        and d.year = o.year
        and d.sex = o.sex
        and d.country_code = o.country_code
)

select * from aggregated
