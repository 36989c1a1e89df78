"""The diffusion backend's real loading and generation code on tiny random-weight models (CPU, 64 px, 2 steps)."""
from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from inference.brand import Background, BrandSpec
from inference.diffusion.components import DiffusionConfig, DiffusionPass, load_components, run_pass, use_kit_lora
from inference.diffusion.model_store import ModelStore, ModelStoreError
from inference.request import GenerationInput, SelfieInput
from tests.inference.conftest import FACES

from .store_factory import build_tiny_store

BRAND_COLOUR = "#1f4e79"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_tiny_store(tmp_path_factory.mktemp("model_store"))


def tiny_config(store: Path, **overrides) -> DiffusionConfig:
    values = dict(store=store, variant="base", generation_long_side=64, steps=2, max_variants=1)
    values.update(overrides)
    return DiffusionConfig(**values)


@pytest.fixture(scope="module")
def components(store):
    return load_components(tiny_config(store))


@pytest.fixture(scope="module")
def backend(store, components, pipeline):
    from inference.diffusion.backend import DiffusionBackend

    return DiffusionBackend(tiny_config(store), pipeline=pipeline, components=components)


def a_pass(**overrides) -> DiffusionPass:
    ys, xs = np.mgrid[0:64, 0:48]
    image = np.stack([xs * 5, ys * 4, (xs + ys) * 2], axis=-1).astype(np.uint8)
    mask = np.zeros((64, 48), np.float32)
    mask[12:, 6:42] = 1.0
    control = np.zeros((64, 48, 3), np.uint8)
    control[20:40, 14:34] = 255
    values = dict(prompt="a professional headshot", negative_prompt="", image=image, mask=mask,
                  controls=(control, control, control), control_scales=(1.0, 1.0, 1.0), seed=3, steps=2,
                  guidance_scale=5.0, strength=1.0, identity=np.linspace(-1, 1, 16), identity_scale=1.0)
    values.update(overrides)
    return DiffusionPass(**values)


def test_a_pass_gives_an_image_of_the_requested_size(components):
    out = run_pass(components.pipe, a_pass())
    assert out.shape == (64, 48, 3) and out.dtype == np.uint8
    assert components.size_multiple == 4  # tiny VAE (x2) and two UNet levels (x2)


def test_a_fixed_seed_gives_identical_pixels_and_another_seed_does_not(components):
    first, again = run_pass(components.pipe, a_pass()), run_pass(components.pipe, a_pass())
    assert np.array_equal(first, again)
    assert np.abs(first.astype(int) - run_pass(components.pipe, a_pass(seed=4)).astype(int)).mean() > 1.0


def test_the_identity_embedding_changes_the_output(components):
    base = run_pass(components.pipe, a_pass()).astype(int)
    other_face = run_pass(components.pipe, a_pass(identity=-np.linspace(-1, 1, 16))).astype(int)
    assert np.abs(base - other_face).mean() > 1.0


def test_the_controlnet_image_changes_the_output(components):
    base = run_pass(components.pipe, a_pass()).astype(int)
    blank = np.zeros((64, 48, 3), np.uint8)
    other = run_pass(components.pipe, a_pass(controls=(blank, blank, blank))).astype(int)
    assert np.abs(base - other).mean() > 0.5


def test_the_identity_adapter_loaded_through_load_ip_adapter_takes_the_encoders_embedding(components):
    assert components.identity_dim == 16
    assert type(components.pipe.unet.encoder_hid_proj.image_projection_layers[0]).__name__ == \
        "IPAdapterFaceIDImageProjection"


def test_lightning_variant_swaps_in_its_unet_and_few_step_schedule(store, components):
    lightning = load_components(tiny_config(store, variant="lightning", steps=None))
    assert lightning.steps == 4 and lightning.guidance_scale == 0.0
    assert lightning.pipe.scheduler.config.timestep_spacing == "trailing"
    base_weight = components.pipe.unet.conv_in.weight
    assert not torch.equal(lightning.pipe.unet.conv_in.weight, base_weight)
    assert lightning.models["sdxl-lightning"]["revision"] == "tiny-random"


def test_a_kit_lora_is_fused_for_its_brand_and_removed_after(store):
    loaded = load_components(tiny_config(store, kit_loras={"Acme": ("kit-lora-acme", 1.0)}))
    weight = loaded.pipe.unet.get_submodule("down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q").weight
    before = weight.detach().clone()
    assert use_kit_lora(loaded, "Acme") == ("kit-lora-acme", 1.0)
    assert (weight - before).abs().max() > 1e-3
    assert use_kit_lora(loaded, "Other Co") is None
    assert torch.allclose(weight, before, atol=1e-6)


def test_without_a_clip_model_appropriateness_says_unavailable(store):
    loaded = load_components(tiny_config(store, appropriateness_model="clip-not-fetched", controls=("canny",),
                                         control_scales=(1.0,)))
    assert loaded.scorer is None and "clip-not-fetched" in loaded.scorer_missing


def test_a_missing_model_names_itself_and_the_fetch_command(tmp_path):
    with pytest.raises(ModelStoreError) as error:
        load_components(tiny_config(tmp_path))
    message = str(error.value)
    assert "'sdxl-base'" in message and "python deploy/fetch_models.py" in message and "--models sdxl-base" in message


def test_a_corrupt_file_fails_its_sha256_check_naming_the_model(store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    target = copy / "controlnet-depth" / "diffusion_pytorch_model.safetensors"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, one flipped byte
    target.write_bytes(bytes(data))
    ModelStore(copy).get("controlnet-canny")  # untouched models still verify
    with pytest.raises(ModelStoreError) as error:
        load_components(tiny_config(copy))
    assert "'controlnet-depth'" in str(error.value) and "corrupt" in str(error.value)
    assert "python deploy/fetch_models.py --store" in str(error.value)


def test_the_insightface_path_loads_a_local_onnx_and_embeds_an_aligned_face(store, pipeline):
    from inference.diffusion.face_encoder import choose_encoders

    rgb = np.asarray(Image.open(FACES / "barack_obama" / "1.jpg").convert("RGB"))
    face = pipeline.faces.detect(rgb)[0]
    choice = choose_encoders(ModelStore(store), pipeline.faces)
    assert choice.conditioning.name == "arcface:insightface-antelopev2"
    assert choice.judge.name == "dlib-resnet-v1"  # output QC judges with the OTHER encoder
    assert choice.conditioning.align(rgb, face).shape == (112, 112, 3)
    embedding = choice.conditioning.embed(rgb, face)
    assert embedding.shape == (16,) and abs(np.linalg.norm(embedding) - 1.0) < 1e-6


def test_end_to_end_a_failed_headshot_is_detected_regenerated_and_recorded(backend):
    selfies = tuple(SelfieInput(f"obama-{n}", (FACES / "barack_obama" / f"{n}.jpg").read_bytes()) for n in (1, 2))
    brand = BrandSpec(name="Acme", background=Background(kind="solid", color=BRAND_COLOUR), output_sizes=(128, 64),
                      regeneration_tries=1)
    out = backend.run(GenerationInput(selfies=selfies, brand=brand, seed=5))
    assert all(v.accepted for v in out.selfies) and len(out.headshots) == 1
    headshot = out.headshots[0]
    master = np.asarray(Image.open(io.BytesIO(headshot.image)).convert("RGB"))
    assert master.shape == (160, 128, 3)
    assert [(r.width, r.height) for r in headshot.renditions] == [(128, 160), (64, 80)]
    # Random weights paint no recognisable person: output QC must say so, not pass it.
    assert not headshot.passed and "identity" in headshot.qc["failures"]
    assert headshot.qc["identity_judge"] == "dlib-resnet-v1"
    assert headshot.params["encoders"]["conditioning"] == "arcface:insightface-antelopev2"
    attempt = headshot.qc["attempts"][0]
    assert headshot.qc["regenerated"] and len(headshot.qc["attempts"]) == 1
    assert attempt["failures"] and attempt["change"]["seed"][1] == headshot.params["seed"]
    assert attempt["change"]["identity_scale"][1] > attempt["change"]["identity_scale"][0]
    assert 0.0 <= headshot.qc["appropriateness"]["overall"] <= 1.0
    # The top corners are backdrop: exactly the brand colour.
    expected = np.array([0x1F, 0x4E, 0x79])
    assert (master[:4, :4] == expected).all() and (master[:4, -4:] == expected).all()
    params = headshot.params
    assert params["passes"][0]["seed"] == params["seed"] and params["passes"][0]["steps"] == 2
    assert params["models"]["sdxl-base"]["revision"] == "tiny-random"
    json.dumps(params)  # everything recorded is plain JSON
    # The recorded variant remakes the same picture, bit for bit.
    again = backend.run(GenerationInput(selfies=selfies, brand=brand, seed=5, reproduce=(params["variant_spec"],)))
    assert again.headshots[0].image == headshot.image


def test_fetch_script_verify_passes_a_good_store_and_fails_a_corrupt_one(store, tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("fetch_models",
                                                  Path(__file__).parents[3] / "deploy" / "fetch_models.py")
    fetch_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch_models)
    assert fetch_models.main(["--store", str(store), "--verify"]) == 0
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    (copy / "realesrgan-x4" / "RealESRGAN_x4.pth").write_bytes(b"truncated")
    assert fetch_models.main(["--store", str(copy), "--verify"]) == 1
    assert "realesrgan-x4" in capsys.readouterr().err
