"""Benchmarks and evaluations that print figures; run them as modules from the repository root."""
