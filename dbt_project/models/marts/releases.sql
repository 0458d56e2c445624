-- One row per edition: what it is, how to cite it, and what this warehouse could take from it
-- (which sexes each table gives, whether it has corridors, where its totals come from).
with catalogue as (
    select * from {{ ref('stg_undesa__releases') }}
),

{% set sex_order = "case sex when 'total' then 1 when 'male' then 2 else 3 end" %}

od as (
    select release, list(distinct sex order by {{ sex_order }}) as sexes
    from (select distinct release, sex from {{ ref('stg_undesa__od_stocks') }})
    group by release
),

destination as (
    select release, list(distinct sex order by {{ sex_order }}) as sexes
    from (select distinct release, sex from {{ ref('stg_undesa__destination_totals') }})
    group by release
),

balance as (
    select release, any_value(immigrants_source) as immigrants_source, any_value(emigrants_source) as emigrants_source
    from {{ ref('country_balance') }}
    group by release
)

select
    catalogue.release,
    catalogue.title,
    catalogue.citation,
    catalogue.licence,
    catalogue.reference_years,
    od.release is not null as has_corridors,
    od.sexes as corridor_sexes,
    destination.sexes as totals_sexes,
    balance.immigrants_source,
    balance.emigrants_source
from catalogue
left join od on catalogue.release = od.release
left join destination on catalogue.release = destination.release
left join balance on catalogue.release = balance.release
