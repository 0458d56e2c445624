with source as (
    select * from {{ source('undesa', 'm49') }}
),

renamed as (
    select
        location_code,
        location_name,
        iso2,
        iso3,
        region_name,
        subregion_name,
        intermediate_region_name,
        is_least_developed,
        is_landlocked_developing,
        is_small_island_developing,
        source_file,
        source_sha256,
        source_row
    from source
)

select * from renamed
