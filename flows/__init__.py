"""Migration corridors warehouse: the refresh flow and the Python it calls.

Importing the package turns off the telemetry of dbt, Prefect, Great Expectations and Streamlit
before any of them is imported, whichever entry point (CLI, deployment, tests) comes first.
"""

from flows.settings import disable_telemetry

disable_telemetry()
