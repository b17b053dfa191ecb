"""Benchmarks of incident-ops: first-answer latency, API and token economy, start-up and
install cost. `python benchmarks/run.py --help` says how to run them."""
