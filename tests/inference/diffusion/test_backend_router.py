"""One worker serves both backends: each brand kit's choice, or the deployment's default."""
from __future__ import annotations

import pytest

from inference.backends import BackendRouter
from inference.brand import Background, BrandSpec
from inference.errors import InputError
from inference.request import GenerationInput, SelfieInput
from tests.inference.conftest import FACES

from .store_factory import build_tiny_store

TINY = {"variant": "base", "generation_long_side": 64, "steps": 2, "max_variants": 1}


@pytest.fixture(scope="module")
def router(tmp_path_factory):
    store = build_tiny_store(tmp_path_factory.mktemp("store"))
    return BackendRouter(default_backend="studio", model_store=str(store), diffusion_options=TINY)


def request(backend: str) -> GenerationInput:
    selfie = SelfieInput("obama-1", (FACES / "barack_obama" / "1.jpg").read_bytes())
    brand = BrandSpec(background=Background(kind="solid", color="#1f4e79"), output_sizes=(128,), backend=backend,
                      variants_per_person=1, regeneration_tries=0)
    return GenerationInput(selfies=(selfie,), brand=brand, seed=3)


def test_a_kit_that_asks_for_diffusion_gets_it_and_the_default_goes_to_the_deployments_backend(router):
    assert router.backend_for(request("default")) == "studio"
    diffusion = router.run(request("diffusion"))
    studio = router.run(request("default"))
    assert "passes" in diffusion.headshots[0].params  # the diffusion backend records its passes
    assert studio.headshots[0].params["backend"] == "studio"


def test_a_diffusion_kit_on_a_deployment_without_a_model_store_is_a_clear_error():
    router = BackendRouter(default_backend="studio")
    with pytest.raises(InputError, match="MODEL_STORE"):
        router.run(request("diffusion"))


def test_a_diffusion_default_without_a_model_store_is_refused_at_start():
    with pytest.raises(InputError, match="fetch_models"):
        BackendRouter(default_backend="diffusion")
