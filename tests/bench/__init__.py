"""Smoke tests of the benchmark (bench/): it runs end to end and writes its tables."""
