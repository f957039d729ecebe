"""Benchmarks: the lesson app against the code a student would write, in one run."""
