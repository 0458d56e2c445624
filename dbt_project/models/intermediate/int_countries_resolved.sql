-- One row per release and country or area (code < 900) that the edition's tables mention, with
-- the classification's attributes and the name as that edition spells it (names change between
-- editions, e.g. Turkey -> Türkiye; keys are codes). A code the classification lacks keeps its
-- row with empty attributes, so the tests on this model catch it instead of a join dropping it.
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
    where is_country_destination
    union all
    select distinct release, origin_code, origin_name, 4
    from {{ ref('stg_undesa__od_stocks') }}
    where is_country_origin
),

edition_names as (
    select
        release,
        location_code,
        arg_min(location_name, preference) filter (where location_name is not null) as location_name
    from spellings
    group by release, location_code
),

resolved as (
    select
        edition_names.release,
        edition_names.location_code as country_code,
        locations.iso3,
        coalesce(edition_names.location_name, locations.location_name) as country_name,
        locations.location_name as classification_name,
        locations.sdg_region_code,
        locations.sdg_region_name,
        locations.subregion_name,
        locations.geographic_region_name,
        locations.development_group,
        locations.income_group_name
    from edition_names
    left join locations
        on edition_names.release = locations.release
        and edition_names.location_code = locations.location_code
)

select * from resolved
