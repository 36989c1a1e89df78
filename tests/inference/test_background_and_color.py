"""Brand background rendering, compositing, and the subject-only colour grade."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from inference.background import composite, estimate_foreground, render_background
from inference.brand import Background, ColorGrade
from inference.color import grade
from inference.errors import BackgroundError


def test_solid_background_is_exactly_the_brand_colour():
    backdrop = render_background(Background(kind="solid", color="#1f4e79"), 64, 80)
    assert backdrop.shape == (80, 64, 3)
    assert (backdrop == np.array([0x1F, 0x4E, 0x79], dtype=np.uint8)).all()


def test_gradient_runs_from_the_top_colour_to_the_bottom_colour():
    backdrop = render_background(Background(kind="gradient", color="#ffffff", color_to="#203040"), 10, 256)
    assert tuple(backdrop[0, 0]) == (255, 255, 255)
    assert tuple(backdrop[-1, 0]) == (0x20, 0x30, 0x40)
    assert (backdrop == backdrop[:, :1]).all(), "a vertical gradient is constant along each row"
    assert (np.diff(backdrop[:, 0].astype(int), axis=0) <= 0).all()


def test_image_background_is_cover_cropped_to_the_frame(tmp_path):
    plate = np.zeros((100, 300, 3), dtype=np.uint8)
    plate[:, :100] = (255, 0, 0)
    plate[:, 100:200] = (0, 255, 0)
    plate[:, 200:] = (0, 0, 255)
    path = tmp_path / "plate.png"
    Image.fromarray(plate).save(path)
    backdrop = render_background(Background(kind="image", image_path=str(path)), 80, 100)
    assert backdrop.shape == (100, 80, 3)
    green = (backdrop[..., 1] > 200) & (backdrop[..., 0] < 50)
    assert green.mean() > 0.95, "a portrait frame cut from a wide plate shows the plate's centre, not a squashed plate"


def test_missing_background_image_is_a_background_error(tmp_path):
    with pytest.raises(BackgroundError, match="does not exist"):
        render_background(Background(kind="image", image_path=str(tmp_path / "nope.png")), 10, 10)


def test_composite_keeps_the_backdrop_bit_exact_where_the_matte_is_zero():
    rng = np.random.default_rng(0)
    person = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    backdrop = render_background(Background(kind="gradient", color="#102030", color_to="#e0d0c0"), 30, 40)
    matte = np.zeros((40, 30), dtype=np.float32)
    matte[20:, 10:20] = 1.0
    matte[15:20, 10:20] = 0.5
    out = composite(person, matte, backdrop)
    assert (out[matte == 0] == backdrop[matte == 0]).all()
    assert (out[matte == 1] == person[matte == 1]).all()
    half = (person[15:20, 10:20].astype(float) + backdrop[15:20, 10:20]) / 2
    assert np.abs(out[15:20, 10:20] - half).max() <= 0.5 + 1e-6


def test_old_background_colour_is_removed_from_the_soft_edge_of_the_person():
    # A blue person on a red backdrop; the soft edge column is a 50/50 blend, as a real photo's edge is.
    rgb = np.zeros((200, 200, 3), dtype=np.uint8)
    rgb[:, :100] = (0, 0, 200)
    rgb[:, 100:] = (200, 0, 0)
    matte = np.zeros((200, 200), dtype=np.float32)
    matte[:, :100] = 1.0
    matte[:, 100:104] = 0.5
    rgb[:, 100:104] = (100, 0, 100)
    clean = estimate_foreground(rgb, matte)
    edge = clean[50:150, 101:103].reshape(-1, 3).astype(int)
    assert (edge[:, 2] - edge[:, 0]).mean() > 100, "the edge should look like the person (blue), not the old red"
    assert (clean[:, :99] == rgb[:, :99]).all() and (clean[:, 106:] == rgb[:, 106:]).all(), "only the edge changes"


def test_neutral_grade_changes_nothing():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)
    assert (grade(rgb, ColorGrade()) == rgb).all()


def test_warm_temperature_raises_red_and_lowers_blue():
    grey = np.full((4, 4, 3), 128, dtype=np.uint8)
    warm = grade(grey, ColorGrade(temperature=1.0))
    cool = grade(grey, ColorGrade(temperature=-1.0))
    assert warm[0, 0, 0] > 128 > warm[0, 0, 2]
    assert cool[0, 0, 2] > 128 > cool[0, 0, 0]


def test_zero_saturation_gives_grey_and_contrast_spreads_tones():
    colour = np.array([[[200, 60, 40], [90, 140, 200]]], dtype=np.uint8)
    grey = grade(colour, ColorGrade(saturation=0.0))
    assert (np.ptp(grey.astype(int), axis=2) <= 1).all()
    tones = np.array([[[64, 64, 64], [192, 192, 192]]], dtype=np.uint8)
    contrasty = grade(tones, ColorGrade(contrast=1.4))
    assert contrasty[0, 0, 0] < 64 and contrasty[0, 1, 0] > 192


# -- office backdrop and background light falloff (geometric finishing) ----------------------------------------


def test_office_backdrop_is_a_soft_out_of_focus_room_in_the_brand_colours():
    from inference.background import office_plate

    navy = Background(kind="office", color="#1f4e79", color_to="#c8a25a")
    backdrop = render_background(navy, 410, 512)
    assert backdrop.shape == (512, 410, 3) and backdrop.dtype == np.uint8
    assert (render_background(navy, 410, 512) == backdrop).all(), "the same for every employee of the team"
    assert (office_plate(navy, 410, 512) == backdrop).all()
    grey = backdrop.astype(float).mean(axis=2)
    assert grey.std() > 5, "not a flat colour: window light and bokeh"
    # Out of focus: nothing sharp enough to be recognised (a photo of a real office scores in the hundreds).
    import cv2

    assert cv2.Laplacian(grey, cv2.CV_64F).var() < 5
    mean = backdrop.reshape(-1, 3).mean(axis=0)
    assert mean[2] > mean[0], "a navy brand gives a blue-ish room"
    burgundy = render_background(Background(kind="office", color="#7a1f2b"), 410, 512).reshape(-1, 3).mean(axis=0)
    assert burgundy[0] > burgundy[2], "a burgundy brand gives a warm room"


def test_office_backdrop_from_a_photo_is_blurred_beyond_recognition(tmp_path):
    import cv2

    rng = np.random.default_rng(3)
    plate = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    path = tmp_path / "office.png"
    Image.fromarray(plate).save(path)
    sharp = render_background(Background(kind="image", image_path=str(path)), 200, 250)
    soft = render_background(Background(kind="office", image_path=str(path)), 200, 250)
    sharpness = [cv2.Laplacian(image.mean(axis=2), cv2.CV_64F).var() for image in (soft, sharp)]
    assert sharpness[0] < 0.01 * sharpness[1]


def test_light_falloff_keeps_the_brand_colour_exact_where_the_gain_is_one():
    from inference.background import apply_light_falloff

    backdrop = render_background(Background(kind="solid", color="#1f4e79"), 64, 80)
    gain = np.ones((80, 64), np.float32)
    gain[:, 48:] = 0.85  # the corner the light doesn't reach
    lit = apply_light_falloff(backdrop, gain)
    assert (lit[:, :48] == backdrop[:, :48]).all()
    expected = np.rint(np.array([0x1F, 0x4E, 0x79]) * 0.85)
    assert np.abs(lit[:, 48:].astype(int) - expected).max() <= 1
    assert apply_light_falloff(backdrop, None) is backdrop
    with pytest.raises(ValueError, match="gain"):
        apply_light_falloff(backdrop, np.ones((10, 10), np.float32))
