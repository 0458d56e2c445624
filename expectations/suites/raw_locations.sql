-- The rows the suite raw_locations validates (raw_locations.json): The location classification: unique codes, ISO3 and SDG region for every country or area.
select *, case when is_country then iso3 end as country_iso3, case when is_country then coalesce(sdg_region_name, '') end as country_sdg_region from staging.stg_undesa__locations
