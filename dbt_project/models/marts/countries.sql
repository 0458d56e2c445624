-- One row per location code of a country or area: its current name and the name each edition
-- used, ISO codes, regions, income group and LDC/LLDC/SIDS membership. Key everything by code:
-- names change between editions, and a few codes change what they cover (see the yml).
with countries as (
    select * from {{ ref('int_countries') }}
),

names as (
    select * from {{ ref('int_location_names') }}
),

by_edition as (
    select
        country_code,
        list({'release': release, 'name': country_name} order by release) as edition_names,
        list(release order by release) as releases
    from names
    group by country_code
)

select
    countries.country_code,
    countries.iso3,
    countries.iso2,
    countries.country_name,
    by_edition.edition_names,
    by_edition.releases,
    countries.m49_name,
    countries.sdg_region_name,
    countries.sdg_subregion_name,
    countries.subregion_name,
    countries.geographic_region_name,
    countries.development_group,
    countries.income_group_name,
    countries.is_least_developed,
    countries.is_landlocked_developing,
    countries.is_small_island_developing,
    countries.groups_source
from countries
left join by_edition on countries.country_code = by_edition.country_code
