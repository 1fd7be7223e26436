"""Benchmarks: each module is a runnable script that prints its figures."""
