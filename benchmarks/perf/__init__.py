"""Throughput benchmark: a seeded corpus generator at any size and a per-stage harness."""
