"""The diffusion tests run torch on one thread."""
from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # CI cores carry other load; torch with 2 threads then runs many times slower
    yield
    torch.set_num_threads(previous)
