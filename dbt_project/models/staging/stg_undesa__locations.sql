with source as (
    select * from {{ source('undesa', 'locations') }}
),

renamed as (
    select
        release,
        location_code,
        location_name,
        iso3,
        location_type,
        location_code < {{ var('country_code_limit') }} as is_country,
        subregion_code,
        subregion_name,
        sdg_subregion_name,
        sdg_region_code,
        sdg_region_name,
        geographic_region_name,
        development_group,
        income_group_name,
        is_least_developed,
        is_landlocked_developing,
        is_small_island_developing,
        source_file,
        source_sha256,
        source_row
    from source
)

select * from renamed
