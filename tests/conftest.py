import pytest
import torch


@pytest.fixture(params=["cuda"])
def device(request):
    """The accelerator under test; skipped cleanly where CUDA is absent."""
    if not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return request.param
