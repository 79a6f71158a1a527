"""Benchmarks run by `make bench`: in-process limit, through ZeroMQ, and (later) end to end."""
