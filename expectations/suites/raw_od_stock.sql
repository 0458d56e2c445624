-- The rows the suite raw_od_stock validates (raw_od_stock.json): Raw table staging.stg_undesa__od_stocks: columns and types, codes, years, sexes, values, keys, row count.
select *, case when destination_code < 900 then destination_code end as destination_country, case when origin_code < 900 then origin_code end as origin_country from staging.stg_undesa__od_stocks
