-- What the origin-destination table says each country's totals are: immigrants = the sum over its
-- origins (countries and "Other"), emigrants = the sum over country destinations. Used to
-- reconcile against the official totals and as the fallback when an edition lacks them.
with od as (
    select * from {{ ref('stg_undesa__od_stocks') }}
    where is_country_destination
),

as_destination as (
    select release, year, sex, destination_code as country_code, sum(migrants)::bigint as od_immigrants
    from od
    where is_country_origin or is_other_origin
    group by release, year, sex, destination_code
),

as_origin as (
    select release, year, sex, origin_code as country_code, sum(migrants)::bigint as od_emigrants
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
        o.od_emigrants
    from as_destination as d
    full outer join as_origin as o
        on d.release = o.release
        and d.year = o.year
        and d.sex = o.sex
        and d.country_code = o.country_code
)

select * from aggregated
