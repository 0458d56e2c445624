{#- The migration effectiveness index applied to stocks: (a - b) / (a + b), in [-1, 1].
    Used for a country's balance (immigrants vs emigrants) and a corridor's asymmetry
    (A->B vs B->A); null when both are zero or either is unknown. -#}
{% macro effectiveness_index(a, b) -%}
    case
        when ({{ a }}) + ({{ b }}) > 0
            then (({{ a }}) - ({{ b }}))::double / (({{ a }}) + ({{ b }}))
    end
{%- endmacro %}


{#- A corridor pair's direction from its asymmetry index: the one definition the marts carry and the
    app shows. two-way: |index| <= 0.5, the smaller flow is at least a third of the larger;
    one-way: |index| >= 0.9, the smaller flow is under about a twentieth of the larger;
    mostly one-way between; null when the index is unknown. -#}
{% macro corridor_direction(index) -%}
    case
        when abs({{ index }}) <= 0.5 then 'two-way'
        when abs({{ index }}) >= 0.9 then 'one-way'
        when {{ index }} is not null then 'mostly one-way'
    end
{%- endmacro %}


{#- One column per sex from a long (sex, value) table: `prefix`, `prefix_male`, `prefix_female`. -#}
{% macro pivot_by_sex(value, prefix) -%}
    max(case when sex = 'total' then {{ value }} end) as {{ prefix }},
    max(case when sex = 'male' then {{ value }} end) as {{ prefix }}_male,
    max(case when sex = 'female' then {{ value }} end) as {{ prefix }}_female
{%- endmacro %}


{#- A sum that is unknown (null) as soon as one of its terms is: a total that silently skipped a
    figure marked not available ('..') would look complete and be wrong. -#}
{% macro sum_if_complete(value) -%}
    case when bool_or({{ value }} is null) then null else sum({{ value }})::bigint end
{%- endmacro %}
