"""The klein backend's real loading, instruction, batching and QC code on a tiny random-weight FLUX.2 [klein].

Random weights paint no person, so these tests prove the mechanism (what goes into the model, that it matters, what
is recorded, what QC decides), never the quality of a trained model's headshots. Where QC must judge a real face,
a stand-in for the model call (klein_factory.StandInPipe) returns a real dev photo instead of denoising.
"""
from __future__ import annotations

import dataclasses
import io
import json
import shutil
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from inference.brand import Attire, Background, BrandSpec
from inference.diffusion.copy_guard import aligned_face, copy_paste_check
from inference.diffusion.klein import KleinBackend
from inference.diffusion.klein_model import KleinConfig, generate, load_klein
from inference.diffusion.klein_prompt import (
    MAX_REFERENCES,
    KleinVariant,
    compile_instruction,
    pick_references,
    plan_grid,
)
from inference.diffusion.model_store import (
    CATALOGUE,
    COMMERCIAL_DEFAULT,
    KLEIN_MODELS,
    ModelStore,
    ModelStoreError,
)
from inference.errors import InputError
from inference.face_detect import prominent_faces
from inference.ingest import decode_image
from inference.request import (
    DoneHeadshot,
    GenerationInput,
    GenerationPlan,
    GenerationRanking,
    HeadshotOutput,
    SelfieInput,
)
from tests.inference.conftest import FACES

from .klein_factory import TINY_MAX_SEQUENCE, TINY_OUT_LAYERS, StandInPipe, build_klein_store

BRAND_COLOUR = "#1f4e79"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return build_klein_store(tmp_path_factory.mktemp("klein_store"))


def tiny_config(store: Path, **overrides) -> KleinConfig:
    values = dict(store=store, generation_long_side=64, steps=2, text_encoder_out_layers=TINY_OUT_LAYERS,
                  max_sequence_length=TINY_MAX_SEQUENCE, max_variants=4, batch_size=2)
    values.update(overrides)
    return KleinConfig(**values)


@pytest.fixture(scope="module")
def components(store):
    return load_klein(tiny_config(store))


@pytest.fixture(scope="module")
def backend(store, components, pipeline):
    return KleinBackend(tiny_config(store), pipeline=pipeline, components=components)


def photo(person: str, number: int) -> np.ndarray:
    return decode_image((FACES / person / f"{number}.jpg").read_bytes()).rgb


def selfies(person: str, *numbers: int) -> tuple[SelfieInput, ...]:
    return tuple(SelfieInput(f"{person}-{n}", (FACES / person / f"{n}.jpg").read_bytes()) for n in numbers)


def brand(**overrides) -> BrandSpec:
    values = dict(name="Acme", background=Background(kind="solid", color=BRAND_COLOUR), output_sizes=(128, 64),
                  variants_per_person=4, regeneration_tries=1)
    values.update(overrides)
    return BrandSpec(**values)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def call(components, *, references=None, prompts=("a headshot",), seeds=(3,), size=(48, 64)):
    references = references if references is not None else [photo("barack_obama", 1), photo("barack_obama", 2)]
    return generate(components, references=references, prompts=list(prompts), seeds=list(seeds), size=size)


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(int) - b.astype(int)).mean())


def changed_by_input(a: np.ndarray, b: np.ndarray) -> bool:
    """The same seed gives identical pixels (tested below), so every difference comes from the changed input; with
    random weights the starting noise dominates the picture, so a change shows as many slightly different pixels."""
    return mean_difference(a, b) > 0.05 and float((a != b).mean()) > 0.05


# -- the model call ---------------------------------------------------------------------------------------------


def test_a_call_gives_one_image_of_the_requested_size_per_prompt(components):
    images = call(components, prompts=("a headshot", "another headshot"), seeds=(3, 4))
    assert [image.shape for image in images] == [(64, 48, 3), (64, 48, 3)]
    assert all(image.dtype == np.uint8 for image in images)
    assert components.size_multiple == 4  # tiny VAE (x2) times the 2 x 2 latent packing


def test_a_seed_gives_identical_pixels_and_another_seed_does_not(components):
    first, again = call(components)[0], call(components)[0]
    assert np.array_equal(first, again)
    assert mean_difference(first, call(components, seeds=(4,))[0]) > 1.0


def test_each_reference_image_changes_the_output(components):
    base = call(components)[0]
    one, two = photo("barack_obama", 1), photo("barack_obama", 2)
    other = photo("scarlett", 1)
    assert changed_by_input(base, call(components, references=[other, two])[0])
    assert changed_by_input(base, call(components, references=[one, other])[0])
    assert changed_by_input(base, call(components, references=[one])[0])


def test_the_instruction_changes_the_output(components):
    base = call(components)[0]
    assert changed_by_input(base, call(components, prompts=("a painting of a boat",))[0])


def test_a_kits_prompt_is_encoded_once_and_then_read_from_the_cache(store):
    fresh = load_klein(tiny_config(store))
    first = call(fresh, prompts=("the kit's prompt",))[0]
    assert fresh.prompt_cache_hits == 0 and list(fresh.prompt_cache) == ["the kit's prompt"]
    again = call(fresh, prompts=("the kit's prompt",))[0]
    assert fresh.prompt_cache_hits == 1
    assert np.array_equal(first, again)  # a cached embedding is the same embedding


# -- the model store ------------------------------------------------------------------------------------------


def test_klein_is_the_commercial_default_under_apache_2_and_the_non_commercial_adapters_are_not(store):
    assert set(KLEIN_MODELS) <= set(COMMERCIAL_DEFAULT)
    for name in KLEIN_MODELS:
        entry = CATALOGUE[name]
        assert entry.repo_id == "black-forest-labs/FLUX.2-klein-4B"
        assert entry.licence == "Apache-2.0" and entry.commercial_use
    assert all(CATALOGUE[name].commercial_use for name in COMMERCIAL_DEFAULT)
    for name in ("ip-adapter-faceid", "instantid", "insightface-antelopev2"):
        assert not CATALOGUE[name].commercial_use and name not in COMMERCIAL_DEFAULT
    # The 9B sibling and FLUX.2 [dev] are non-commercial: never in the catalogue.
    assert not any("klein-9B" in e.repo_id or "FLUX.2-dev" in e.repo_id for e in CATALOGUE.values())
    manifest = json.loads((store / "manifest.json").read_text())["models"]["klein-4b-transformer"]
    assert manifest["licence"] == "Apache-2.0" and manifest["commercial_use"] is True
    assert all(len(meta["sha256"]) == 64 for meta in manifest["files"].values())


def test_a_missing_klein_model_names_itself_and_the_fetch_command(store, tmp_path):
    partial = tmp_path / "store"
    shutil.copytree(store, partial)
    shutil.rmtree(partial / "klein-4b-vae")
    with pytest.raises(ModelStoreError) as error:
        load_klein(tiny_config(partial))
    message = str(error.value)
    assert "'klein-4b-vae'" in message and "incomplete" in message
    assert f"python deploy/fetch_models.py --store {partial} --models klein-4b-vae" in message
    with pytest.raises(ModelStoreError, match="--models klein-4b-transformer"):
        load_klein(tiny_config(tmp_path / "empty"))


def test_a_corrupt_klein_file_fails_its_sha256_check_naming_the_model(store, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    target = copy / "klein-4b-text-encoder" / "text_encoder" / "model.safetensors"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF  # same size, one flipped byte
    target.write_bytes(bytes(data))
    ModelStore(copy).get("klein-4b-vae")  # untouched models still verify
    with pytest.raises(ModelStoreError) as error:
        load_klein(tiny_config(copy))
    assert "'klein-4b-text-encoder'" in str(error.value) and "corrupt" in str(error.value)
    assert "--models klein-4b-text-encoder" in str(error.value)


def test_the_fetch_script_knows_the_klein_models_and_fetches_them_by_default(store, capsys):
    import importlib.util

    path = Path(__file__).parents[3] / "deploy" / "fetch_models.py"
    spec = importlib.util.spec_from_file_location("fetch_models", path)
    fetch_models = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fetch_models)
    assert fetch_models.main(["--store", str(store), "--verify"]) == 0
    listing = capsys.readouterr().out
    assert all(f"ok   {name}" in listing for name in KLEIN_MODELS) and "[commercial use OK]" in listing
    assert fetch_models.default_models() == COMMERCIAL_DEFAULT


# -- what goes into the model -------------------------------------------------------------------------------


def test_the_brand_kit_compiles_into_the_instruction_with_hex_colours():
    kit = brand(background=Background(kind="gradient", color="#f2f4f7", color_to="#1f4e79"),
                attire="navy blazer over a white shirt", attire_color=Attire(color="#1f4e79", strength=0.5),
                expression="warm closed-mouth smile")
    spec = KleinVariant(index=0, seed=1, attire=kit.attire, lighting="studio", framing="head_and_shoulders", pose=1,
                        references=("a", "b", "c"))
    text = compile_instruction(kit, spec)
    assert "reference images 1 to 3" in text
    assert "navy blazer over a white shirt, main garment in #1F4E79" in text
    assert "backdrop in #F2F4F7" in text and "gradient to #1F4E79" in text
    assert "warm closed-mouth smile" in text and "studio key light" in text and "turned slightly to the left" in text
    assert "eyes about 42% from the top" in text
    assert "face and facial features, hair, skin tone, age and glasses" in text
    assert "style reference" not in text
    firmer = compile_instruction(kit, dataclasses.replace(spec, keep_face=2, style_reference=True))
    assert firmer.startswith(text[:200]) and "Most important: do not alter the face" in firmer
    assert "Copy the identity exactly" in firmer
    assert "Reference image 4 is a style reference only" in firmer and "never its person" in firmer


def test_the_variant_specs_differ_in_every_axis_before_any_combination_repeats():
    kit = brand(variant_attires=("charcoal suit", "open-collar shirt"), variants_per_person=24)
    combos = plan_grid(kit, 24)
    assert len(set(combos)) == 24
    assert {c[0] for c in combos[:3]} == set(kit.attires)
    assert {c[1] for c in combos[:4]} == set(kit.lightings)
    assert {c[2] for c in combos[:3]} == set(kit.variant_framings)
    assert {c[3] for c in combos[:4]} == {0, 1, 2, 3}
    # Neighbours differ in at least two of the four axes.
    assert all(sum(x != y for x, y in zip(a, b, strict=True)) >= 2 for a, b in pairwise(combos))


def test_references_are_the_best_selfies_spread_over_poses_up_to_four():
    scored = [("frontal-best", 1.0, 0.0), ("frontal-twin", 0.95, 0.01), ("turned-left", 0.7, -0.3),
              ("turned-right", 0.6, 0.3), ("poor", -1.0, 0.0)]
    assert pick_references(scored, 3) == ["frontal-best", "turned-left", "turned-right"]
    assert len(pick_references(scored, MAX_REFERENCES)) == 4 and pick_references(scored, 1) == ["frontal-best"]


# -- the whole backend ------------------------------------------------------------------------------------------


def test_random_weight_garbage_fails_output_qc_and_every_regeneration_is_recorded(backend):
    out = backend.run(GenerationInput(selfies=selfies("barack_obama", 1, 2, 3), brand=brand(), seed=5))
    assert all(v.accepted for v in out.selfies) and len(out.headshots) == 4
    assert sorted(h.rank for h in out.headshots) == [1, 2, 3, 4]
    for headshot in out.headshots:
        master = decoded(headshot.image)
        square = headshot.params["variant_spec"]["framing"] == "square_avatar"  # the kit's 4:5, or 1:1 for avatars
        assert master.shape == ((128, 128, 3) if square else (160, 128, 3))
        assert [(r.width, r.height) for r in headshot.renditions] == (
            [(128, 128), (64, 64)] if square else [(128, 160), (64, 80)])
        # Random weights paint no person: QC says so instead of passing it.
        assert not headshot.passed and {"face_count", "identity"} <= set(headshot.qc["failures"])
        assert headshot.qc["identity_judge"] == "dlib-resnet-v1"
        assert headshot.qc["teeth_and_fingers"].startswith("unavailable:")
        assert 0.0 <= headshot.qc["appropriateness"]["overall"] <= 1.0  # the tiny CLIP is in this store
        (attempt,) = headshot.qc["attempts"]
        assert headshot.qc["regenerated"] and headshot.qc["regeneration_exhausted"]
        assert attempt["failures"] and attempt["change"]["seed"][1] == headshot.params["seed"]
        assert attempt["change"]["keep_face"] == [0, 1]
        assert "Most important: do not alter the face" in headshot.params["instruction"]
        assert "Most important" not in compile_instruction(brand(), KleinVariant.from_params(attempt["params"]))
        # The backdrop is exactly the kit's colour.
        assert (master[:3, :3] == np.array([0x1F, 0x4E, 0x79])).all()
        json.dumps(headshot.params)  # everything recorded is plain JSON
    specs = [h.params["variant_spec"] for h in out.headshots]
    assert len({(s["attire"], s["lighting"], s["framing"], s["pose"]) for s in specs}) == 4
    assert len({s["seed"] for s in specs}) == 4
    params = out.headshots[0].params
    assert params["models"]["klein-4b-transformer"]["licence"] == "Apache-2.0"
    assert params["references"] == params["variant_spec"]["references"]
    assert set(params["references"]) == {"barack_obama-1", "barack_obama-2", "barack_obama-3"}


def test_klein_streams_each_headshot_as_it_is_final_and_a_resumed_set_makes_only_the_rest(backend):
    """The progress bar moves with klein too: the plan first, each headshot once final (before the set is done),
    the ranks last; a retry that already stored some variants (GenerationInput.done) makes only the others."""
    request = GenerationInput(selfies=selfies("barack_obama", 1, 2), brand=brand(regeneration_tries=0), seed=11)
    events = backend.stream(request)
    plan = next(events)
    assert isinstance(plan, GenerationPlan) and len(plan.planned) == 4
    first = next(events)  # one headshot arrives while the rest of the set is still to be made
    assert isinstance(first, HeadshotOutput) and first.rank is None
    rest = list(events)
    made = [first, *[e for e in rest if isinstance(e, HeadshotOutput)]]
    ranking = rest[-1]
    assert isinstance(ranking, GenerationRanking) and len(made) == 4
    assert sorted(r.rank for r in ranking.ranks) == [1, 2, 3, 4]
    assert {h.qc["requested_variant"] for h in made} == set(plan.planned)

    stored = [DoneHeadshot.of(h) for h in made[:3]]
    resumed = list(backend.stream(dataclasses.replace(request, done=tuple(stored))))
    remade = [e for e in resumed if isinstance(e, HeadshotOutput)]
    assert [h.qc["requested_variant"] for h in remade] == [made[3].qc["requested_variant"]]
    assert remade[0].params["seed"] == made[3].params["seed"]  # the same variant, planned the same way
    assert sorted(r.rank for r in resumed[-1].ranks) == [1, 2, 3, 4]  # the earlier three are ranked too


def test_a_recorded_variant_is_remade_bit_for_bit_in_the_batch_it_was_made_in(backend):
    request = GenerationInput(selfies=selfies("barack_obama", 1, 2), brand=brand(regeneration_tries=0), seed=9)
    out = backend.run(request)
    headshot = next(h for h in out.headshots if len(h.params["variant_spec"]["batch"]) == 2)
    spec = headshot.params["variant_spec"]
    assert len(spec["batch"]) == 2 and spec["batch"][spec["batch_position"]]["seed"] == spec["seed"]
    again = backend.run(dataclasses.replace(request, reproduce=(spec,)))
    assert again.headshots[0].image == headshot.image
    with pytest.raises(InputError, match="not accepted selfies"):
        backend.run(dataclasses.replace(request, selfies=selfies("barack_obama", 1, 3), reproduce=(spec,)))
    with pytest.raises(InputError, match=r"reproduce\[0\] is invalid: framing must be one of"):
        backend.run(dataclasses.replace(request, reproduce=({**spec, "framing": "full_body"},)))
    with pytest.raises(InputError, match=r"reproduce\[0\] is invalid: not a klein variant"):
        backend.run(dataclasses.replace(request, reproduce=({**spec, "backend": "diffusion"},)))


def test_a_kits_prompts_are_encoded_once_across_employees(store, pipeline):
    klein = KleinBackend(tiny_config(store, max_variants=2), pipeline=pipeline)
    kit = brand(variants_per_person=2, regeneration_tries=0)
    klein.run(GenerationInput(selfies=selfies("barack_obama", 1), brand=kit, seed=1))
    encoded = len(klein.components.prompt_cache)
    klein.run(GenerationInput(selfies=selfies("scarlett", 1), brand=kit, seed=2))
    assert len(klein.components.prompt_cache) == encoded and klein.components.prompt_cache_hits == 2


# -- the copy-paste guard -------------------------------------------------------------------------------------


def aligned(pipeline, rgb):
    return aligned_face(rgb, prominent_faces(pipeline.faces.detect(rgb))[0])


def test_the_copy_paste_guard_fails_a_selfie_and_passes_another_photo_of_the_same_person(pipeline):
    refs = {f"obama-{n}": aligned(pipeline, photo("barack_obama", n)) for n in (1, 2)}
    # The selfie itself, graded darker and with more contrast (what grading a pasted face does), is still a copy.
    graded = np.clip((photo("barack_obama", 1).astype(np.float32) - 40) * 1.3, 0, 255).astype(np.uint8)
    scores, copied = copy_paste_check(aligned(pipeline, graded), refs)
    assert copied and scores["face_correlation_nearest"] == "obama-1" and scores["face_correlation_max"] > 0.95
    # Another real photo of the same person (new light, pose, expression: what a re-photograph is) is not.
    scores, copied = copy_paste_check(aligned(pipeline, photo("barack_obama", 3)), refs)
    assert not copied and scores["face_correlation_max"] < 0.89


def standin_backend(store, pipeline, picture=None) -> KleinBackend:
    """The real backend at a size where dlib finds faces, with the model call replaced by a stand-in."""
    loaded = load_klein(tiny_config(store, generation_long_side=512, max_variants=1))
    loaded.pipe = StandInPipe(loaded.pipe, picture)
    return KleinBackend(loaded.config, pipeline=pipeline, components=loaded)


def test_an_output_that_is_a_reference_selfie_fails_as_a_copy_and_a_real_re_render_passes_the_guard(store, pipeline):
    kit = brand(output_sizes=(512,), variants_per_person=1, regeneration_tries=1)
    request = GenerationInput(selfies=selfies("scarlett", 1, 2), brand=kit, seed=4)
    pasted = standin_backend(store, pipeline).run(request).headshots[0]
    # It is the person (identity passes), but it is her selfie: the guard fails it, and the retry is recorded.
    assert "identity" not in pasted.qc["failures"] and "copy_paste" in pasted.qc["failures"]
    assert pasted.qc["face_correlation_max"] >= 0.89
    assert pasted.qc["attempts"][0]["failures"].count("copy_paste") == 1
    rerendered = standin_backend(store, pipeline, picture=photo("scarlett", 4)).run(request).headshots[0]
    assert "copy_paste" not in rerendered.qc["failures"] and "identity" not in rerendered.qc["failures"]
    assert rerendered.qc["face_correlation_max"] < 0.89
    # Skin tone is measured against the references' skin together, on the real face.
    assert isinstance(rerendered.qc["skin_delta_e"], float) and rerendered.qc["face_count"] == 1
    # The new picture was framed by its face, matted and composited: around the person, exactly the kit's colour.
    master = decoded(rerendered.image)
    assert rerendered.params["finishing"]["framed"] and master.shape == (640, 512, 3)
    brand_rgb = np.array([0x1F, 0x4E, 0x79])
    assert (master[:8, :8] == brand_rgb).all() and (master[:8, -8:] == brand_rgb).all()
    assert abs(rerendered.qc["eye_line"] - 0.42) < 0.03  # on the kit's eye line, as the studio frames selfies


# -- the style reference ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def style_file(tmp_path_factory) -> Path:
    """An existing "company headshot" of someone else: a dev photo of another person."""
    path = tmp_path_factory.mktemp("style") / "team-headshot.jpg"
    path.write_bytes((FACES / "angelina" / "1.jpg").read_bytes())
    return path


def test_a_style_reference_goes_in_as_the_last_reference_with_the_never_its_person_instruction(store, pipeline,
                                                                                            style_file):
    """What this proves with random weights: the style photo is really fed to the model, as the last reference behind
    the employee's selfies, with the instruction to take its look and never its person (and a reference changes the
    model's output: test_each_reference_image_changes_the_output). It can't prove that a trained model obeys; the QC
    test below checks the outcome on real faces."""
    loaded = load_klein(tiny_config(store, max_variants=1))
    spy = SpyPipe(loaded.pipe)
    loaded.pipe = spy
    klein = KleinBackend(loaded.config, pipeline=pipeline, components=loaded)
    kit = brand(variants_per_person=1, regeneration_tries=0)
    request = GenerationInput(selfies=selfies("barack_obama", 1, 2), brand=kit, seed=3)
    plain = klein.run(request).headshots[0]
    styled = klein.run(dataclasses.replace(
        request, brand=dataclasses.replace(kit, style_reference=str(style_file)))).headshots[0]
    plain_refs, styled_refs = spy.references
    assert len(styled_refs) == len(plain_refs) + 1 == 3
    for given, selfie_ref in zip(styled_refs, plain_refs, strict=False):  # the style reference comes last
        assert np.array_equal(given, selfie_ref)  # the selfies first, in the same order
    style = photo("angelina", 1)
    assert styled_refs[-1].shape[1] / styled_refs[-1].shape[0] == pytest.approx(style.shape[1] / style.shape[0], 0.05)
    assert styled.params["style_reference"]["position"] == len(styled.params["references"]) + 1 == 3
    assert "never its person" in styled.params["instruction"] and "never its person" not in plain.params["instruction"]


class SpyPipe:
    """Records the reference images each model call receives, then runs the real tiny model."""

    def __init__(self, real) -> None:
        self.real = real
        self.references: list[list[np.ndarray]] = []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __call__(self, *, image, **kwargs):
        self.references.append([np.asarray(i) for i in image])
        return self.real(image=image, **kwargs)


def test_qc_fails_a_headshot_of_the_style_references_person_and_passes_one_of_the_employee(store, pipeline,
                                                                                         style_file):
    """Judged by dlib on real dev faces: a model that leaked the style photo's person into the headshot (the stand-in
    returns that person's photo) fails; one that kept the employee passes this check."""
    kit = brand(output_sizes=(512,), variants_per_person=1, regeneration_tries=0, style_reference=str(style_file))
    request = GenerationInput(selfies=selfies("scarlett", 1, 2), brand=kit, seed=4)
    leaked = standin_backend(store, pipeline, picture=photo("angelina", 2)).run(request).headshots[0]
    assert "style_identity" in leaked.qc["failures"]
    assert leaked.qc["style_person_distance"] < leaked.qc["identity_distance"]
    kept = standin_backend(store, pipeline, picture=photo("scarlett", 4)).run(request).headshots[0]
    assert "style_identity" not in kept.qc["failures"]
    assert kept.qc["identity_distance"] < kept.qc["style_person_distance"]


def test_an_unreadable_style_reference_is_a_clear_input_error(backend, tmp_path):
    kit = brand(style_reference=str(tmp_path / "gone.jpg"))
    with pytest.raises(InputError, match="style reference can't be read"):
        backend.run(GenerationInput(selfies=selfies("barack_obama", 1), brand=kit, seed=1))
