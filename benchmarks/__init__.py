"""The benchmark suite behind `make bench`: what tenancy costs, against baselines in the same run."""
