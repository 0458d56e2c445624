{#- The verdict on one check of a discrepancy model (int_od_reconciliation, int_table_discrepancies):
    every disagreement it finds must be listed in the known_discrepancies seed for the same edition,
    location (and partner), year and sex, with the same two figures. The figures are the fact: a
    re-issued workbook that still says the same is accepted, while a listed discrepancy whose
    figures changed is new. (The sha256 in the seed names the version the entry was reviewed on;
    int_known_discrepancies_observed says when the version read is another one.) Failing rows say
    which cell (file, sheet, row, column) and both figures. -#}
{% test only_listed_discrepancies(model, check, reference_label, od_label) %}

select
    found.release,
    found.year,
    found.sex,
    found.location_code as country_code,
    found.partner_code,
    found.source_file,
    found.source_sheet,
    found.source_row,
    found.source_column,
    found.reference_value as {{ reference_label }},
    found.od_value as {{ od_label }},
    found.difference
from {{ model }} as found
where found.check_name = '{{ check }}'
  and not exists (
    select 1
    from {{ ref('known_discrepancies') }} as listed
    where listed.check_name = found.check_name
      and listed.release = found.release
      and listed.location_code = found.location_code
      and listed.partner_code is not distinct from found.partner_code
      and listed.year = found.year
      and listed.sex = found.sex
      and listed.reference_value is not distinct from found.reference_value
      and listed.observed_value is not distinct from found.od_value
  )

{% endtest %}


{#- The other direction: a listed discrepancy of the very workbook this build reads (its sha256)
    must still be there, with its figures. One that is gone fails, so the list never excuses what it
    no longer describes. Entries reviewed on another version of a workbook are left alone: a
    corrected release is expected to lose some of them. -#}
{% test listed_discrepancies_hold(model) %}

select release, check_name, location_code, partner_code, year, sex, reference_value, observed_value, reason_id
from {{ model }}
where in_use and not observed

{% endtest %}
