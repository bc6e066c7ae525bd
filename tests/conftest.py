import importlib.util
import os
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def pytest_configure(config):
    """Under pytest-xdist, share the cores between the workers instead of oversubscribing.

    Each of the ``n`` workers would otherwise start torch with its default thread count (one
    per core), so two workers on two cores would run four busy threads.
    """
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 1:
        torch.set_num_threads(max(1, torch.get_num_threads() // workers))


def pytest_collection_modifyitems(items):
    """Every test of the ``device`` fixture is a CUDA test: ``-m cuda`` selects them all (.ci/gpu_check)."""
    for item in items:
        if "device" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cuda)


@pytest.fixture(params=["cuda"])
def device(request):
    """The accelerator under test; skipped cleanly where CUDA is absent."""
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return request.param


@pytest.fixture
def load_example():
    """Import a script of examples/ by file name (the folder is not a package)."""

    def load(name):
        spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), EXAMPLES / name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
