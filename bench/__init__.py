"""The hub's benchmark suite: ``bench/run`` (or ``python -m bench``); see docs/benchmarks.md."""
