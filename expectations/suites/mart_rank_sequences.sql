-- The rows the suite mart_rank_sequences validates (mart_rank_sequences.json): Ranks run 1..n without gaps or repeats within each ranking.
select 'corridors' as ranking, release, year, null::integer as country_code, null::varchar as direction,
    count(*) as ranked, min(rank) as min_rank, max(rank) - count(*) as gaps, count(*) - count(distinct rank) as repeats
from marts.corridors group by release, year
union all
select 'corridor_pairs', release, year, null, null, count(rank), min(rank), max(rank) - count(rank),
    count(rank) - count(distinct rank)
from marts.corridor_pairs where rank is not null group by release, year
union all
select 'country_partners', release, year, country_code, direction, count(*), min(rank), max(rank) - count(*),
    count(*) - count(distinct rank)
from marts.country_partners group by release, year, country_code, direction
