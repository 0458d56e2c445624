with source as (
    select * from {{ source('undesa', 'population') }}
),

renamed as (
    select
        release,
        cast(year as integer) as year,
        sex,
        location_code,
        location_name,
        location_code < {{ var('country_code_limit') }} as is_country,
        population,
        value_flag,
        source_file,
        source_sha256,
        source_sheet,
        source_row,
        source_column
    from source
)

select * from renamed
