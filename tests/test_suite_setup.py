"""The suite's own set-up: pytest-xdist workers share the cores (tests/conftest.py)."""

import os

import pytest
import torch


def test_xdist_workers_do_not_oversubscribe_the_cores():
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers == 1:
        pytest.skip("not run under pytest-xdist")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert torch.get_num_threads() * workers <= max(workers, cores)
