{#- Generic tests written here because dbt packages (dbt_utils) cannot be installed offline. -#}

{% test unique_combination_of_columns(model, combination_of_columns) %}
    {%- set columns = combination_of_columns | join(', ') %}
    select {{ columns }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns }}
    having count(*) > 1
{% endtest %}


{% test accepted_range(model, column_name, min_value=none, max_value=none) %}
    select *
    from {{ model }}
    where {{ column_name }} is not null
      and (
        false
        {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
      )
{% endtest %}


{% test expression_is_true(model, expression) %}
    select *
    from {{ model }}
    where not ({{ expression }})
{% endtest %}


{#- Every listed column is filled, checked in one pass per model; each failing row says which
    columns are empty. One test per model instead of one per column keeps the build's node count
    (and so the orchestration overhead per node) down without losing a check. -#}
{% test not_null_columns(model, columns) %}
    select
        {%- for column in columns %}
        {{ column }} is null as {{ column }}_is_null,
        {%- endfor %}
        *
    from {{ model }}
    where
        {%- for column in columns %}
        {{ column }} is null{% if not loop.last %} or{% endif %}
        {%- endfor %}
{% endtest %}


{#- Every country or area code (< 900) in a staged table is in the edition's classification.
    Failing rows carry their file, sheet, row and column, so the message names the cell. -#}
{% test codes_in_classification(model, column_name) %}
    select staged.*
    from {{ model }} as staged
    where staged.{{ column_name }} < {{ var('country_code_limit') }}
      and not exists (
        select 1
        from {{ ref('stg_undesa__locations') }} as locations
        where locations.release = staged.release
          and locations.location_code = staged.{{ column_name }}
      )
{% endtest %}
