"""Benchmarks: `python -m bench` prints medians beside the plainest way to do the same work."""
