{#- Reconciliation of an official totals table (destination or origin workbook) with the
    origin-destination table: for every edition that has both, each country's O-D sum for every
    year and sex equals its official total. Applied in yml to the two staging totals models.
    A placeholder ('..') in the official table, or in one of the O-D cells being summed, leaves
    nothing to reconcile against; a country the official table lacks, or a number the O-D rows do
    not add up to, is a failing row. -#}
{% test reconciles_with_od_sums(model, od_sum_column) %}

with editions as (
    select distinct release from {{ ref('stg_undesa__od_stocks') }}
    intersect
    select distinct release from {{ model }}
),

official as (
    select release, year, sex, location_code as country_code, migrants as official_total,
        source_file, source_sheet, source_row, source_column
    from {{ model }}
    where is_country and release in (select release from editions)
),

od as (
    select release, year, sex, country_code, coalesce({{ od_sum_column }}, 0) as od_sum
    from {{ ref('int_od_totals_aggregated') }}
    where {{ od_sum_column }}_unavailable = 0 and release in (select release from editions)
),

unavailable as (
    select release, year, sex, country_code
    from {{ ref('int_od_totals_aggregated') }}
    where {{ od_sum_column }}_unavailable > 0
)

select
    coalesce(official.release, od.release) as release,
    coalesce(official.year, od.year) as year,
    coalesce(official.sex, od.sex) as sex,
    coalesce(official.country_code, od.country_code) as country_code,
    official.source_file,
    official.source_sheet,
    official.source_row,
    official.source_column,
    official.official_total,
    od.od_sum,
    coalesce(od.od_sum, 0) - coalesce(official.official_total, 0) as difference
from official
full outer join od
    on official.release = od.release
    and official.year = od.year
    and official.sex = od.sex
    and official.country_code = od.country_code
where not exists (
        select 1 from unavailable as u
        where u.release = coalesce(official.release, od.release)
          and u.year = coalesce(official.year, od.year)
          and u.sex = coalesce(official.sex, od.sex)
          and u.country_code = coalesce(official.country_code, od.country_code)
    )
  and (
    (official.country_code is null and od.od_sum <> 0)
    or (official.official_total is not null and coalesce(od.od_sum, 0) <> official.official_total)
  )

{% endtest %}
