with source as (
    select * from {{ source('undesa', 'releases') }}
),

renamed as (
    select
        release,
        title,
        citation,
        licence,
        cast(reference_years as integer[]) as reference_years
    from source
)

select * from renamed
