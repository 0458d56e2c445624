"""`python -m flows ...` is `migration-etl ...`."""

from flows.ops.cli import main

main()
