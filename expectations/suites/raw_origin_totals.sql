-- The rows the suite raw_origin_totals validates (raw_origin_totals.json): Raw table staging.stg_undesa__origin_totals: columns and types, codes, years, sexes, values, keys, row count.
select *, case when location_code < 900 then location_code end as location_country from staging.stg_undesa__origin_totals
