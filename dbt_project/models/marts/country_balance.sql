-- Per country, release and year: immigrants (official destination totals), emigrants (official
-- origin totals, or, in the editions without a by-origin workbook, the WORLD row of the
-- origin-destination table, which UN DESA publishes as each origin's total), net and balance index,
-- population and the immigrant share of it. Where an edition lacks a totals workbook, the
-- origin-destination table's own totals stand in, and the *_source columns say so.
with countries as (
    select * from {{ ref('int_countries_resolved') }}
),

immigrant_totals as (
    select * from {{ ref('int_destination_totals_pivoted') }}
),

emigrant_totals as (
    select * from {{ ref('int_origin_totals_pivoted') }}
),

od_figures as (
    -- the O-D table's own total cell where it has one (Total column / WORLD rows), else its sum
    select side, release, year, sex, location_code as country_code,
        case when source_row is not null then stated else summed end as figure,
        summed,
        source_row is not null as is_stated
    from {{ ref('int_od_stated_totals') }}
    where is_country
),

od_totals as (
    select release, year, country_code,
        {{ pivot_by_sex("case when side = 'destination' then figure end", 'od_immigrants') }},
        {{ pivot_by_sex("case when side = 'origin' then figure end", 'od_emigrants') }},
        max(case when side = 'origin' and sex = 'total' then summed end) as od_emigrants_summed
    from od_figures
    group by release, year, country_code
),

population as (
    select release, year, location_code as country_code, population
    from {{ ref('stg_undesa__population') }}
    where is_country and sex = 'total'
),

-- which workbooks each edition has decides the source for all its rows, never value by value
editions as (
    select
        release,
        bool_or(has_destination) as has_destination,
        bool_or(has_origin) as has_origin,
        bool_or(has_world_row) as has_world_row
    from (
        select distinct release, true as has_destination, false as has_origin, false as has_world_row
        from immigrant_totals
        union all
        select distinct release, false, true, false from emigrant_totals
        union all
        select distinct release, false, false, bool_or(side = 'origin' and is_stated) from od_figures group by release
    )
    group by release
),

years as (
    select distinct release, year from immigrant_totals
    union
    select distinct release, year from emigrant_totals
    union
    select distinct release, year from od_totals
),

spine as (
    select countries.*, years.year
    from countries
    inner join years on countries.release = years.release
),

combined as (
    select
        spine.release,
        spine.year,
        spine.country_code,
        spine.iso3,
        spine.country_name,
        spine.sdg_region_name,
        spine.income_group_name,
        case when editions.has_destination then i.immigrants else od.od_immigrants end as immigrants,
        case when editions.has_destination then i.immigrants_male else od.od_immigrants_male end as immigrants_male,
        case when editions.has_destination then i.immigrants_female else od.od_immigrants_female end as immigrants_female,
        case when editions.has_origin then e.emigrants else od.od_emigrants end as emigrants,
        case when editions.has_origin then e.emigrants_male else od.od_emigrants_male end as emigrants_male,
        case when editions.has_origin then e.emigrants_female else od.od_emigrants_female end as emigrants_female,
        population.population,
        od.od_emigrants_summed as emigrants_od_sum,
        i.data_type,
        i.notes,
        case when editions.has_destination then 'destination_workbook' else 'od_table' end as immigrants_source,
        case
            when editions.has_origin then 'origin_workbook'
            when editions.has_world_row then 'od_world_row'
            else 'od_sums'
        end as emigrants_source,
        i.source_row as immigrants_source_row,
        e.source_row as emigrants_source_row
    from spine
    inner join editions on spine.release = editions.release
    left join immigrant_totals as i
        on spine.release = i.release and spine.year = i.year and spine.country_code = i.country_code
    left join emigrant_totals as e
        on spine.release = e.release and spine.year = e.year and spine.country_code = e.country_code
    left join od_totals as od
        on spine.release = od.release and spine.year = od.year and spine.country_code = od.country_code
    left join population
        on spine.release = population.release
        and spine.year = population.year
        and spine.country_code = population.country_code
),

final as (
    select
        release,
        year,
        country_code,
        iso3,
        country_name,
        immigrants,
        emigrants,
        immigrants - emigrants as net_migrants,
        {{ effectiveness_index('immigrants', 'emigrants') }} as balance_index,
        population,
        100.0 * immigrants / nullif(population, 0) as immigrants_pct_population,
        case
            when immigrants_source = 'destination_workbook' and emigrants_source in ('origin_workbook', 'od_world_row')
                then 'official_totals'
            when immigrants_source = 'od_table' and emigrants_source <> 'origin_workbook'
                then 'od_table'
            else 'mixed'
        end as source,
        immigrants_source,
        emigrants_source,
        immigrants_male,
        immigrants_female,
        emigrants_male,
        emigrants_female,
        emigrants_od_sum,
        data_type,
        notes,
        sdg_region_name,
        income_group_name,
        immigrants_source_row,
        emigrants_source_row
    from combined
)

select * from final
