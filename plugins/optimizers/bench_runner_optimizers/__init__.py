"""bench-runner-optimizers: benchmarks of prompt optimizers, as a bench_runner plugin."""
