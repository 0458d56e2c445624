-- The rows the suite raw_population validates (raw_population.json): Raw table staging.stg_undesa__population: columns and types, codes, years, sexes, values, keys, row count.
select *, case when location_code < 900 then location_code end as location_country from staging.stg_undesa__population
