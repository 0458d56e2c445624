-- Every disagreement between the origin-destination table and the official totals, cell by cell,
-- and within the origin-destination table itself. Four checks (the `check_name` column), each a
-- dbt test that passes only when every row it finds is listed, with the same two figures and the
-- same workbook, in the known_discrepancies seed:
-- - od_sums_match_destination_totals, od_sums_match_origin_totals: the O-D table's figure for a
--   location (its stated total where it has that cell, else the sum of its cells) against the
--   official destination (origin) totals workbook, for countries and aggregates, in every edition
--   that has both. Two cells agree when they hold the same number or are both not available; a
--   blank cell is 0 (no migrants listed), a placeholder ('..', '-') is not available.
-- - od_destination_totals_are_sums, od_origin_totals_are_sums: the table's stated totals against
--   the sums of its own cells where all are known, and against the known cells where some are not
--   (the known ones may not add up to more than the total).
with stated as (
    select * from {{ ref('int_od_stated_totals') }}
),

od_files as (
    select distinct release, file_sha256 from stated
),

od_figures as (
    select
        side, release, year, sex, location_code,
        -- the table's own total cell where it has one, else what its cells add up to
        case when source_row is not null then stated else summed end as od_value,
        source_row is null and summed is null as od_sum_unknown
    from stated
),

official as (
    select 'destination' as side, release, year, sex, location_code, migrants as reference_value,
        source_file, source_sheet, source_row, source_column
    from {{ ref('stg_undesa__destination_totals') }}
    union all
    select 'origin', release, year, sex, location_code, migrants,
        source_file, source_sheet, source_row, source_column
    from {{ ref('stg_undesa__origin_totals') }}
),

-- what both tables give: an edition's O-D table may hold both sexes only (the 2015 and 2017 copies;
-- the parse step checks that the version of the file gives no more)
compared as (
    select distinct side, release, sex from official
    intersect
    select distinct side, release, sex from od_figures
),

against_official as (
    select
        'od_sums_match_' || coalesce(official.side, od.side) || '_totals' as check_name,
        coalesce(official.release, od.release) as release,
        coalesce(official.year, od.year) as year,
        coalesce(official.sex, od.sex) as sex,
        coalesce(official.location_code, od.location_code) as location_code,
        official.source_file,
        official.source_sheet,
        official.source_row,
        official.source_column,
        official.reference_value,
        od.od_value,
        official.location_code is not null as in_official,
        od.location_code is not null as in_od,
        od.od_sum_unknown
    from official
    full outer join od_figures as od
        on official.side = od.side
        and official.release = od.release
        and official.year = od.year
        and official.sex = od.sex
        and official.location_code = od.location_code
    where (coalesce(official.side, od.side), coalesce(official.release, od.release), coalesce(official.sex, od.sex))
        in (select (side, release, sex) from compared)
),

official_disagreements as (
    select * exclude (in_official, in_od, od_sum_unknown)
    from against_official
    where not coalesce(od_sum_unknown, false)  -- a sum over a figure not available is no claim
      and case
        when in_official and in_od then reference_value is distinct from od_value
        -- a country's total the O-D table does not list (aggregates as origins, say, it never lists)
        when in_official then location_code < {{ var('country_code_limit') }} and coalesce(reference_value, 0) <> 0
        else coalesce(od_value, 0) <> 0  -- migrants the official table does not know of
      end
),

internal_disagreements as (
    select
        'od_' || side || '_totals_are_sums' as check_name,
        release, year, sex, location_code,
        source_file, source_sheet, source_row, source_column,
        stated as reference_value,
        coalesce(summed, summed_known) as od_value
    from stated
    where stated is not null
      and ((summed is not null and stated <> summed) or (summed is null and summed_known > stated))
)

select
    found.check_name,
    found.release,
    found.year,
    found.sex,
    found.location_code,
    null::integer as partner_code,
    od_files.file_sha256,
    found.source_file,
    found.source_sheet,
    found.source_row,
    found.source_column,
    found.reference_value,
    found.od_value,
    found.od_value - found.reference_value as difference
from (
    select * from official_disagreements
    union all by name
    select * from internal_disagreements
) as found
inner join od_files on found.release = od_files.release
