"""The project's own fault-injection suite (`make chaos`) and the production-shape rehearsal (`make rehearsal`).

Dev tooling, not runtime code: nothing under services/ or libs/ imports it. Both start every part as its own OS
process on 127.0.0.1, on free ports, in a temporary directory (bench/system.py and bench/procs.py are the
launchers), drive concerns through the public API, kill -9 parts mid-load and restart them, and then check from
the databases and the sinks that every acknowledged concern became exactly one child and exactly one family
message. `python -m chaos --help`, `python -m chaos.rehearsal --help`.
"""
