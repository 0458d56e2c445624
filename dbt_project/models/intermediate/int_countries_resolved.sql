-- One row per release and country or area: the classification's attributes with the name as that
-- edition spells it (names change between editions, e.g. Turkey -> Türkiye; keys are codes).
with locations as (
    select * from {{ ref('stg_undesa__locations') }}
    where is_country
),

spellings as (
    select release, location_code, location_name, 1 as preference
    from {{ ref('stg_undesa__destination_totals') }}
    where is_country
    union all
    select release, location_code, location_name, 2
    from {{ ref('stg_undesa__origin_totals') }}
    where is_country
    union all
    select distinct release, destination_code, destination_name, 3
    from {{ ref('stg_undesa__od_stocks') }}
    where is_country_destination and destination_name is not null
    union all
    select distinct release, origin_code, origin_name, 4
    from {{ ref('stg_undesa__od_stocks') }}
    where is_country_origin and origin_name is not null
),

edition_names as (
    select
        release,
        location_code,
        arg_min(location_name, preference) as location_name
    from spellings
    group by release, location_code
),

resolved as (
    select
        locations.release,
        locations.location_code as country_code,
        locations.iso3,
        coalesce(edition_names.location_name, locations.location_name) as country_name,
        locations.location_name as classification_name,
        locations.sdg_region_code,
        locations.sdg_region_name,
        locations.subregion_name,
        locations.geographic_region_name,
        locations.development_group,
        locations.income_group_name
    from locations
    left join edition_names
        on locations.release = edition_names.release
        and locations.location_code = edition_names.location_code
)

select * from resolved
