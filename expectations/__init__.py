"""Great Expectations suites (JSON, in `suites/`) and the gate that runs them before publish."""
