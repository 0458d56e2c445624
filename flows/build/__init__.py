"""Build: dbt (staging -> intermediate -> marts, with tests), what the build says of each
edition, the quality gate's door, and dbt docs (steps `dbt`, `quality`, `docs`)."""
