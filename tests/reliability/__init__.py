"""Reliability harness: hostile corpora, planted secrets, crash and fault injection, and
the readers that inspect every byte a run wrote. Shared by tests/test_reliability_*.py and
benchmarks/reliability.py."""
