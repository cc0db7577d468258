"""Benchmark suites. Each writes a table to the terminal and, on request, JSON."""
