"""Identity profile specifications: a robust centre of one person's embeddings, calibrated on the real dev faces."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image

from inference.identity import (
    EMBEDDING_SIZE,
    MODEL_NAME,
    PAIR_DISTANCE,
    PROFILE_DISTANCE,
    IdentityProfile,
    distance_to_profile,
    find_consensus,
    geometric_median,
    profile_from_embeddings,
)

from .conftest import FACES

# The aligned 150 px john_* chips widen the calibration to 10 people; six each keep the module fast.
CHIPS_PER_PERSON = 6


@pytest.fixture(scope="module")
def dev_embeddings(pipeline, dev_inspections) -> dict[str, dict[str, np.ndarray]]:
    """person -> file -> embedding: the full-size dev photos' (from their inspection) and some john_* chips'."""
    people: dict[str, dict[str, np.ndarray]] = {}
    for name, inspection in dev_inspections.items():
        assert inspection.embedding is not None, name
        person, file = name.split("/")
        people.setdefault(person, {})[file] = inspection.embedding
    for folder in sorted(FACES.glob("john_*")):
        for path in sorted(folder.glob("*.jpg"), key=lambda p: int(p.stem))[:CHIPS_PER_PERSON]:
            rgb = np.asarray(Image.open(path).convert("RGB"))
            faces = pipeline.faces.detect(rgb)
            assert faces, path
            people.setdefault(path.parent.name, {})[path.name] = pipeline.faces.embed(rgb, faces[0])
    return people


def test_geometric_median_is_not_dragged_by_an_outlier_the_way_the_mean_is():
    rng = np.random.default_rng(3)
    cluster = rng.normal(0.0, 0.05, (6, EMBEDDING_SIZE))
    truth = geometric_median(cluster)
    shifts, mean_shifts = [], []
    for far in (0.2, 2.0):  # a stranger ~2.3, then ~23 away
        points = np.vstack([cluster, np.full((1, EMBEDDING_SIZE), far)])
        shifts.append(np.linalg.norm(geometric_median(points) - truth))
        mean_shifts.append(np.linalg.norm(points.mean(axis=0) - truth))
    # The median's shift is bounded (a unit pull against six), however far the stranger; the mean's grows with it.
    assert max(shifts) < 0.1 and abs(shifts[1] - shifts[0]) < 0.01
    assert mean_shifts[1] > 9 * mean_shifts[0] and mean_shifts[1] > 25 * shifts[1]


def test_a_profile_holds_its_centre_spread_count_model_and_members(dev_embeddings):
    files = dev_embeddings["katy_perry"]
    profile = profile_from_embeddings(list(files.values()), list(files))
    assert len(profile.centre) == EMBEDDING_SIZE and all(isinstance(v, float) for v in profile.centre)
    assert profile.count == 8 and profile.members == tuple(files) and profile.model == MODEL_NAME == "dlib_resnet_v1"
    distances = [distance_to_profile(e, profile) for e in files.values()]
    assert profile.radius == pytest.approx(max(distances)) and profile.spread == pytest.approx(np.median(distances))
    assert 0 < profile.spread <= profile.radius < PROFILE_DISTANCE


def test_a_profile_survives_a_round_trip_through_json_and_refuses_another_model(dev_embeddings):
    profile = profile_from_embeddings(list(dev_embeddings["jennifer"].values()))
    assert IdentityProfile.from_dict(profile.as_dict()) == profile
    with pytest.raises(ValueError, match="model"):
        IdentityProfile.from_dict({**profile.as_dict(), "model": "arcface_r100"})
    with pytest.raises(ValueError, match="centre"):
        IdentityProfile.from_dict({**profile.as_dict(), "centre": [0.0] * 3})


def test_profile_distance_separates_the_same_person_from_everyone_else_on_the_dev_faces(dev_embeddings):
    """Calibration guard: leave-one-out distances to the person's centre vs other people's photos to it."""
    same, others = [], []
    for person, files in dev_embeddings.items():
        for name, embedding in files.items():
            rest = [e for n, e in files.items() if n != name]
            same.append(distance_to_profile(embedding, profile_from_embeddings(rest)))
        profile = profile_from_embeddings(list(files.values()))
        others += [distance_to_profile(e, profile) for p, fs in dev_embeddings.items() if p != person
                   for e in fs.values()]
    assert max(same) < PROFILE_DISTANCE < min(others)
    assert np.percentile(same, 95) < PROFILE_DISTANCE - 0.1  # the margin the threshold was chosen with


def test_pairwise_threshold_keeps_99_percent_of_same_person_pairs_and_no_stranger(dev_embeddings):
    same = [np.linalg.norm(a - b) for files in dev_embeddings.values()
            for a, b in itertools.combinations(files.values(), 2)]
    different = [np.linalg.norm(a - b) for (p, fa), (q, fb) in itertools.combinations(dev_embeddings.items(), 2)
                 for a in fa.values() for b in fb.values()]
    assert np.mean(np.array(same) <= PAIR_DISTANCE) >= 0.99
    assert min(different) > PAIR_DISTANCE


def test_every_dev_persons_own_photos_agree_and_any_colleague_mixed_in_is_found(dev_embeddings):
    for person, files in dev_embeddings.items():
        own = list(files.values())[:6]
        alone = find_consensus(own)
        assert alone.outliers == () and alone.profile is not None, person
        for other, other_files in dev_embeddings.items():
            if other == person:
                continue
            colleague = next(iter(other_files.values()))
            mixed = find_consensus(own[:3] + [colleague] + own[3:])
            assert mixed.outliers == (3,), (person, other)
            assert mixed.profile.count == len(own)


def test_small_sets_one_photo_is_its_own_profile_two_must_agree(dev_embeddings):
    scarlett = list(dev_embeddings["scarlett"].values())
    single = find_consensus(scarlett[:1])
    assert single.outliers == () and single.profile.count == 1 and single.profile.radius == 0.0
    pair = find_consensus(scarlett[:2])
    assert pair.outliers == () and pair.profile.count == 2
    strangers = find_consensus([scarlett[0], dev_embeddings["barack_obama"]["1.jpg"]])
    assert strangers.ambiguous and strangers.outliers == (0, 1)


def test_an_even_split_has_no_majority(dev_embeddings):
    two_and_two = list(dev_embeddings["angelina"].values())[:2] + list(dev_embeddings["jack_dorsey"].values())[:2]
    assert find_consensus(two_and_two).ambiguous


def test_malformed_embeddings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="128"):
        profile_from_embeddings([[0.0] * 127])
    with pytest.raises(ValueError, match="NaN"):
        find_consensus([[float("nan")] * 128])
    with pytest.raises(ValueError, match="names"):
        profile_from_embeddings([[0.0] * 128], names=["a", "b"])
