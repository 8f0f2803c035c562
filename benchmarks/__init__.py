"""Benchmark scripts, each run as `python benchmarks/NAME.py`. A package so that tests can import
a benchmark's scoring (`benchmarks.restoration.compare_inpainting`)."""
