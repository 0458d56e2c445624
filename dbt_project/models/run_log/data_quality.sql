-- depends_on: {{ ref('int_known_discrepancies_observed') }}
-- The quality gate's result for each expectation on the data being published; and, as suite
-- `known_discrepancies`, each listed discrepancy of the official tables found in the workbooks this
-- version was built from, with its reason and both figures. Only found ones: a listed entry of the
-- version read that is not found has failed the build already (listed_discrepancies_hold).
{%- set known = load_relation(ref('int_known_discrepancies_observed')) if execute else none %}
select run_id, suite, expectation, "table", "column", release, success, unexpected_count, element_count, observed, why
from {{ source('run_log', 'quality_results') }}
{%- if known is not none %}
union all
select
    (select run_id from {{ source('run_log', 'runs') }} where publishing) as run_id,
    'known_discrepancies' as suite,
    check_name as expectation,
    about as "table",
    case
        when partner_code is not null then concat(location_code, ' from ', partner_code)
        else concat_ws(' ', location_name, '(' || location_code || ')')
    end as "column",
    release,
    observed as success,
    null as unexpected_count,
    null as element_count,
    concat_ws(', ', cast(year as varchar), sex,
        concat(coalesce(cast(reference_value as varchar), 'not available'), ' vs ',
               coalesce(cast(observed_value as varchar), 'not available'))) as observed,
    concat(reason, ' (', source, ')',
        case when found_sha256 <> file_sha256 then concat(
            '; listed for the workbook with sha256 ', left(file_sha256, 12),
            ', found the same in the version read, ', left(found_sha256, 12)) end) as why
from {{ known }}
where observed
{%- endif %}
