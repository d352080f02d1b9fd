"""Benchmarks: run them as scripts (``python benchmarks/bench_engine.py``); see BENCHMARKS.md."""
