"""Benchmarks of the answer engine, a plain rapidfuzz baseline and the bot: `python -m bench`."""
