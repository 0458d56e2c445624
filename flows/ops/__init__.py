"""Operations: the CLI, the temporary Prefect server and the deployment, the refresh lock, alerts,
the run's report, and the few reaches into libraries' internals."""
