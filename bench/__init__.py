"""Benchmarks, run as scripts (e.g. `.venv/bin/python bench/map_page.py`)."""
