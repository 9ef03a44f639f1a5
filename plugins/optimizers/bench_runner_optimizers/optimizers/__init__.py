"""The built-in optimizers, registered through ``bench_runner_register_optimizers`` like a third party's."""
