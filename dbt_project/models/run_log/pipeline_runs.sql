-- Every refresh of this data directory, from its run record: what it read, what it published, how
-- its checks went, how long each step took, and why it failed if it did.
select
    run_id,
    started_at,
    finished_at,
    status,
    epoch(finished_at - started_at) as duration_seconds,
    editions,
    source,
    to_json(json_transform(
        inputs,
        '[{"edition": "VARCHAR", "kind": "VARCHAR", "name": "VARCHAR", "status": "VARCHAR", "size": "BIGINT",
           "sha256": "VARCHAR", "md5": "VARCHAR", "verdict": "VARCHAR", "official": "BOOLEAN", "matched": "VARCHAR"}]'
    )) as input_files,
    missing as missing_files,
    warnings,
    row_counts as rows_per_table,
    cast(dbt ->> 'tests_passed' as integer) as checks_passed,
    cast(dbt ->> 'tests_failed' as integer) as checks_failed,
    timings,
    error ->> 'message' as error
from {{ source('run_log', 'runs') }}
