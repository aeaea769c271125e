"""The benchmarks beside qemu-aarch64 (issue #11): `python3 bench/run.py --help`.

workloads.py says what runs (programs, sizes, inputs, the issue's targets),
measure.py times one workload under both emulators, report.py shows the
results (table, docs/BENCHMARKS.md section, chart) and run.py is the command.
"""
