"""Benchmarks for TAS: `make bench` (full) and `make bench-quick` (a smoke run of each, about two minutes).

Benchmarks are not tests: nothing here runs under `make test`, and no timing is asserted anywhere in tests/.
Every process binds to 127.0.0.1 on a free port and keeps its state in a temporary directory; the scale
benchmark's generated database is cached under bench/cache/ (gitignored), keyed by caseload's migration head.
"""
