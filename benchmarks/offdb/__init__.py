"""The tenancy-off baselines' database backend (ENGINE = "benchmarks.offdb")."""
