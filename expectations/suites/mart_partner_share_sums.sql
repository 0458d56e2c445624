-- The rows the suite mart_partner_share_sums validates (mart_partner_share_sums.json): Each country's partner shares, per direction, sum to at most 100 (percent).
select release, year, country_code, direction, sum(share_pct) as share_pct_sum from marts.country_partners group by all
