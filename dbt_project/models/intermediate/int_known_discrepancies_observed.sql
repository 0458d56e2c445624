-- Each listed known discrepancy with what this build observed: whether the tables read now disagree
-- there exactly as listed (`observed`), in which version of the workbook (`found_sha256`, which
-- may differ from the version the entry was reviewed on), and whether that reviewed version is the
-- one read now (`in_use`). The publish step copies the observed rows, with their reasons, into the
-- data_quality mart.
with listed as (
    select * from {{ ref('known_discrepancies') }}
),

reasons as (
    select * from {{ ref('known_discrepancy_reasons') }}
),

found as (
    select check_name, release, file_sha256, location_code, partner_code, year, sex, reference_value, od_value
    from {{ ref('int_od_reconciliation') }}
    union all
    select check_name, release, file_sha256, location_code, partner_code, year, sex, reference_value, od_value
    from {{ ref('int_table_discrepancies') }}
),

files_in_use as (
    select distinct release, source_sha256 as file_sha256 from {{ ref('stg_undesa__od_stocks') }}
    union
    select distinct release, source_sha256 from {{ ref('stg_undesa__destination_totals') }}
    union
    select distinct release, source_sha256 from {{ ref('stg_undesa__origin_totals') }}
),

names as (
    select release, location_code, any_value(location_name) as location_name
    from {{ ref('stg_undesa__destination_totals') }}
    group by release, location_code
)

select
    listed.release,
    listed.check_name,
    listed.file_sha256,
    listed.location_code,
    listed.partner_code,
    names.location_name,
    listed.year,
    listed.sex,
    listed.reference_value,
    listed.observed_value,
    listed.reason_id,
    reasons.about,
    reasons.reason,
    reasons.source,
    files_in_use.file_sha256 is not null as in_use,
    found.check_name is not null as observed,
    found.file_sha256 as found_sha256
from listed
left join reasons on listed.reason_id = reasons.reason_id
left join files_in_use on listed.release = files_in_use.release and listed.file_sha256 = files_in_use.file_sha256
left join found
    on found.check_name = listed.check_name
    and found.release = listed.release
    and found.location_code = listed.location_code
    and found.partner_code is not distinct from listed.partner_code
    and found.year = listed.year
    and found.sex = listed.sex
    and found.reference_value is not distinct from listed.reference_value
    and found.od_value is not distinct from listed.observed_value
left join names on listed.release = names.release and listed.location_code = names.location_code
