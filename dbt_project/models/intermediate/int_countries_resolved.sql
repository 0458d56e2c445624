-- One row per release and country or area that the edition's tables mention: the name as that
-- edition spells it, and the country's regions and groups (int_countries, the one place they come
-- from). A code the classification lacks keeps its row with empty attributes, so the tests on this
-- model catch it instead of a join dropping it.
with names as (
    select * from {{ ref('int_location_names') }}
),

countries as (
    select * from {{ ref('int_countries') }}
)

select
    names.release,
    names.country_code,
    countries.iso3,
    coalesce(names.country_name, countries.country_name) as country_name,
    countries.country_name as current_name,
    countries.classification_name,
    countries.sdg_region_code,
    countries.sdg_region_name,
    countries.subregion_name,
    countries.geographic_region_name,
    countries.development_group,
    countries.income_group_name
from names
left join countries on names.country_code = countries.country_code
