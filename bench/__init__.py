"""cligate's latency and throughput benchmark: ``python -m bench [--quick]``."""
