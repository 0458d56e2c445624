with source as (
    select * from {{ source('undesa', 'origin_totals') }}
),

renamed as (
    select
        release,
        cast(year as integer) as year,
        sex,
        location_code,
        location_name,
        location_code < {{ var('country_code_limit') }} as is_country,
        notes,
        migrants,
        value_flag,
        source_file,
        source_sha256,
        source_sheet,
        source_row,
        source_column
    from source
)

select * from renamed
