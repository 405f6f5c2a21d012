"""Benchmarks of bitrix1c against the sandbox servers (``python -m benchmarks <name>``)."""
