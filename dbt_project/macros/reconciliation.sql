{#- The reconciliation's verdict on one check of int_od_reconciliation: every disagreement it finds
    must be listed in the known_discrepancies seed. A seed row names one location, or (location_code
    empty) a whole edition-year-sex block with the number of locations it expects; a block whose
    count changed fails whole, so a new discrepancy never hides in a listed block. Failing rows say
    which cell (file, sheet, row, column) and both figures. -#}
{% test only_listed_discrepancies(model, check, reference_label, od_label) %}

with found as (
    select * from {{ model }} where check_name = '{{ check }}'
),

listed as (
    select * from {{ ref('known_discrepancies') }} where check_name = '{{ check }}'
),

one_by_one as (
    select found.*, listed.release is not null as is_listed
    from found
    left join listed
        on listed.location_code is not null
        and found.release = listed.release
        and found.year = listed.year
        and found.sex = listed.sex
        and found.location_code = listed.location_code
),

blocks as (
    select listed.release, listed.year, listed.sex, listed.rows, count(found.location_code) as found_rows
    from listed
    left join found
        on found.release = listed.release and found.year = listed.year and found.sex = listed.sex
    where listed.location_code is null
    group by all
)

select
    one_by_one.release,
    one_by_one.year,
    one_by_one.sex,
    one_by_one.location_code as country_code,
    one_by_one.source_file,
    one_by_one.source_sheet,
    one_by_one.source_row,
    one_by_one.source_column,
    one_by_one.reference_value as {{ reference_label }},
    one_by_one.od_value as {{ od_label }},
    one_by_one.difference
from one_by_one
left join blocks
    on one_by_one.release = blocks.release and one_by_one.year = blocks.year and one_by_one.sex = blocks.sex
where not one_by_one.is_listed
  and (blocks.release is null or blocks.found_rows <> blocks.rows)

{% endtest %}
