"""Benchmarks against the limit of the machine: ``python -m tests.bench [--quick]``.

Benchmarks are not tests: they print a table and write ``bench-results/<name>.json``; nothing
here passes or fails on a wall-clock time, and no file is named ``test_*`` (pytest skips them).
"""
