"""One worker serves every backend a brand kit may ask for: `klein`, `diffusion` (SDXL) or `studio`, or the
deployment's default (INFERENCE_BACKEND) for kits that say `default`; a backend it can't serve is a clear error."""
from __future__ import annotations

import shutil

import pytest

from inference.backends import BackendRouter
from inference.brand import Background, BrandSpec
from inference.diffusion.model_store import ModelStoreError
from inference.errors import InputError
from inference.request import GenerationInput, SelfieInput
from tests.inference.conftest import FACES

from .klein_factory import TINY_MAX_SEQUENCE, TINY_OUT_LAYERS, build_klein_store
from .store_factory import build_tiny_store

SDXL = {"variant": "base", "generation_long_side": 64, "steps": 2, "max_variants": 1}
KLEIN = {"generation_long_side": 64, "steps": 2, "max_variants": 1, "text_encoder_out_layers": TINY_OUT_LAYERS,
         "max_sequence_length": TINY_MAX_SEQUENCE}


@pytest.fixture(scope="module")
def full_store(tmp_path_factory):
    """SDXL and klein side by side, as a deployment that fetched both has them."""
    root = build_tiny_store(tmp_path_factory.mktemp("store"))
    return build_klein_store(root, merge=True)


@pytest.fixture(scope="module")
def klein_only_store(tmp_path_factory):
    """What `deploy/fetch_models.py` fetches by default: klein, no SDXL."""
    return build_klein_store(tmp_path_factory.mktemp("klein_only"))


def request(backend: str) -> GenerationInput:
    selfie = SelfieInput("obama-1", (FACES / "barack_obama" / "1.jpg").read_bytes())
    brand = BrandSpec(background=Background(kind="solid", color="#1f4e79"), output_sizes=(128,), backend=backend,
                      variants_per_person=1, regeneration_tries=0)
    return GenerationInput(selfies=(selfie,), brand=brand, seed=3)


def test_each_kit_gets_the_backend_it_asks_for_and_default_kits_get_the_deployments(full_store):
    router = BackendRouter(default_backend="klein", model_store=str(full_store), diffusion_options=SDXL,
                           klein_options=KLEIN)
    assert router.klein is not None and router.diffusion is not None
    assert router.klein.studio is router.studio is router.diffusion.studio  # one set of studio models per worker
    made_by = {kit: router.run(request(kit)).headshots[0].params["backend"]
               for kit in ("default", "klein", "diffusion", "studio")}
    assert made_by == {"default": "klein", "klein": "klein", "diffusion": "diffusion", "studio": "studio"}
    studio_default = BackendRouter(default_backend="studio", model_store=str(full_store), diffusion_options=SDXL,
                                   klein_options=KLEIN)
    assert studio_default.backend_for(request("default")) == "studio"
    assert studio_default.run(request("klein")).headshots[0].params["backend"] == "klein"


def test_a_store_with_only_the_commercial_default_serves_klein_and_names_what_sdxl_kits_lack(klein_only_store):
    router = BackendRouter(default_backend="klein", model_store=str(klein_only_store), klein_options=KLEIN)
    assert router.diffusion is None
    assert router.run(request("default")).headshots[0].params["backend"] == "klein"
    with pytest.raises(InputError, match="asks for the diffusion backend, but the model store has no SDXL"):
        router.run(request("diffusion"))


def test_a_klein_kit_on_a_deployment_without_a_model_store_is_a_clear_error():
    with pytest.raises(InputError, match="klein backend, but this deployment has no model store"):
        BackendRouter(default_backend="studio").run(request("klein"))


def test_a_klein_default_without_a_store_or_without_its_models_is_refused_at_start(tmp_path, full_store):
    with pytest.raises(InputError, match="klein backend needs a model store"):
        BackendRouter(default_backend="klein")
    sdxl_only = tmp_path / "sdxl"
    shutil.copytree(full_store, sdxl_only)
    shutil.rmtree(sdxl_only / "klein-4b-transformer")
    with pytest.raises(ModelStoreError, match="'klein-4b-transformer'.*fetch_models.py"):
        BackendRouter(default_backend="klein", model_store=str(sdxl_only), klein_options=KLEIN)
