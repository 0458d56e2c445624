with source as (
    select * from {{ source('undesa', 'od_stock') }}
),

renamed as (
    select
        release,
        cast(year as integer) as year,
        sex,
        destination_code,
        destination_name,
        origin_code,
        origin_name,
        -- an empty cell in the origin-destination table means no migrants are listed for that pair
        -- and year; a placeholder such as '..' means the figure is not available (null)
        case when value_flag = 'empty' then 0 else migrants end as migrants,
        value_flag,
        destination_code < {{ var('country_code_limit') }} as is_country_destination,
        origin_code < {{ var('country_code_limit') }} as is_country_origin,
        -- unknown origins ('Other', 'Other North', 'Other South'): in the stocks and sums, never a corridor
        origin_code in (select origin_code from {{ ref('unknown_origins') }}) as is_other_origin,
        source_file,
        source_sha256,
        source_sheet,
        source_row,
        source_column
    from source
)

select * from renamed
