-- One row per country or area (code < 900) that any edition mentions or the classification lists:
-- its groups from the UN DESA classification (the 2020 table serves every edition: location codes
-- are stable), its ISO codes and LDC/LLDC/SIDS membership from UNSD's M49 list where a copy was
-- available (current groups), else from the classification, and its current name: the newest
-- edition's spelling.
with classification as (
    -- every edition lists the same classification file; take the newest edition's rows
    select * exclude (rn) from (
        select *, row_number() over (partition by location_code order by release desc) as rn
        from {{ ref('stg_undesa__locations') }}
        where is_country
    )
    where rn = 1
),

m49 as (
    select * from {{ ref('stg_undesa__m49') }}
),

names as (
    select * from {{ ref('int_location_names') }}
),

codes as (
    select country_code from names
    union
    select location_code from classification
),

latest_names as (
    select country_code, arg_max(country_name, release) as country_name, arg_max(release, release) as last_release
    from names
    group by country_code
)

select
    codes.country_code,
    coalesce(m49.iso3, classification.iso3) as iso3,
    m49.iso2,
    coalesce(latest_names.country_name, m49.location_name, classification.location_name) as country_name,
    m49.location_name as m49_name,
    classification.location_name as classification_name,
    classification.sdg_region_code,
    classification.sdg_region_name,
    classification.sdg_subregion_name,
    classification.subregion_code,
    classification.subregion_name,
    classification.geographic_region_name,
    classification.development_group,
    classification.income_group_name,
    coalesce(m49.is_least_developed, classification.is_least_developed) as is_least_developed,
    coalesce(m49.is_landlocked_developing, classification.is_landlocked_developing) as is_landlocked_developing,
    coalesce(m49.is_small_island_developing, classification.is_small_island_developing) as is_small_island_developing,
    case when m49.location_code is not null then 'M49 list' else 'UN DESA classification 2020' end as groups_source
from codes
left join classification on codes.country_code = classification.location_code
left join m49 on codes.country_code = m49.location_code
left join latest_names on codes.country_code = latest_names.country_code
