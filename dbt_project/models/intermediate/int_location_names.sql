-- How each edition spells each country or area (code < 900) its tables mention: the destination
-- workbook's spelling first, then the origin workbook's, then the origin-destination table's.
-- Names change between editions (Turkey -> Türkiye, Swaziland -> Eswatini); keys are codes.
with spellings as (
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
)

select
    release,
    location_code as country_code,
    arg_min(location_name, preference) filter (where location_name is not null) as country_name
from spellings
group by release, location_code
