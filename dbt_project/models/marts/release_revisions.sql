-- The same figure (country, year, immigrants or emigrants) in every pair of editions that both give
-- it, and how much the later edition revised it. Figures for one year are not comparable across
-- editions without this: Rev.2024 cut Kazakhstan's 2020 immigrant stock by about 47 %.
with balance as (
    select * from {{ ref('country_balance') }}
),

measures as (
    select release, year, country_code, 'immigrants' as measure, immigrants as value, immigrants_source as source,
        false as disputed
    from balance
    union all
    -- an emigrant total from the O-D table's WORLD row that its own cells do not add up to
    select release, year, country_code, 'emigrants' as measure, emigrants as value, emigrants_source as source,
        emigrants_source = 'od_world_row' and emigrants_od_sum is not null and emigrants <> emigrants_od_sum
    from balance
),

editions as (
    select release, lead(release) over (order by release) as next_release
    from (select distinct release from balance)
),

latest_names as (
    select country_code, arg_max(country_name, release) as country_name
    from balance
    group by country_code
),

paired as (
    select
        earlier.country_code,
        earlier.year,
        earlier.measure,
        earlier.release as release_from,
        later.release as release_to,
        earlier.value as value_from,
        later.value as value_to,
        earlier.source as source_from,
        later.source as source_to,
        earlier.disputed or later.disputed as disputed
    from measures as earlier
    inner join measures as later
        on earlier.country_code = later.country_code
        and earlier.year = later.year
        and earlier.measure = later.measure
        and earlier.release < later.release
    where earlier.value is not null
      and later.value is not null
),

final as (
    select
        paired.release_to as release,
        paired.country_code,
        latest_names.country_name,
        paired.year,
        paired.measure,
        paired.release_from,
        paired.release_to,
        paired.value_from,
        paired.value_to,
        paired.value_to - paired.value_from as revision,
        100.0 * (paired.value_to - paired.value_from) / nullif(paired.value_from, 0) as revision_pct,
        editions.next_release = paired.release_to as is_consecutive,
        paired.source_from,
        paired.source_to,
        paired.disputed
    from paired
    inner join latest_names on paired.country_code = latest_names.country_code
    inner join editions on paired.release_from = editions.release
)

select * from final
