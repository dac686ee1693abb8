"""Region masks in the aligned frame and per-region intensity."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from pixelfes.editing import edit_image, load_model, synthesize
from pixelfes.faces import align, template_points
from pixelfes.faces.regions import REGIONS, intensity_map, parse_regions, region_masks
from pixelfes.imageio import read_image

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))


def test_masks_partition_the_crop_and_sit_on_their_features():
    masks = region_masks(128)
    assert list(masks) == list(REGIONS)
    total = np.sum(list(masks.values()), axis=0)
    assert np.allclose(total, 1.0, atol=1e-6)
    points = np.rint(template_points(128)).astype(int)
    for name, (x, y) in [("eyes", points[0]), ("eyes", points[1])]:
        assert masks[name][y, x] == 1.0
    mouth = np.rint(points[3:].mean(axis=0)).astype(int)
    assert masks["mouth"][mouth[1], mouth[0]] == 1.0
    assert masks["brows"][40, 40] == 1.0  # above the left eye (eye line at y 50.7)
    assert masks["rest"][5, 64] == 1.0 and masks["rest"][64, 5] == 1.0
    for mask in masks.values():  # smooth: no jump larger than a small step between neighbours
        assert np.abs(np.diff(mask, axis=0)).max() < 0.35
        assert np.abs(np.diff(mask, axis=1)).max() < 0.35


def test_intensity_map_doses_each_region():
    weights = intensity_map(128, {"mouth": 0.0, "eyes": 1.5}, default=0.7)
    masks = region_masks(128)
    assert np.all(weights[masks["mouth"] == 1] == 0.0)
    assert np.all(weights[masks["eyes"] == 1] == 1.5)
    assert np.allclose(weights[masks["rest"] == 1], 0.7)
    assert np.allclose(intensity_map(64, {}, default=0.3), 0.3)


@pytest.mark.parametrize("region", ["mouth", "eyes", "brows", "rest"])
def test_zero_dose_leaves_the_region_bit_identical_in_the_crop(region):
    model = load_model("neutral-to-happy")  # the per-pixel model: doses act on its pixels
    crop = align(read_image(PORTRAIT))[0].crop[None]
    weights = intensity_map(128, {region: 0.0}, default=1.2)
    out = synthesize(model, crop, weights)
    source = crop.astype(np.float32) / 255.0
    core = region_masks(128)[region] == 1.0
    assert core.sum() > 50
    assert np.array_equal(out[0][core], source[0][core])
    assert not np.array_equal(out[0][~core], source[0][~core])


def test_region_doses_in_the_photo():
    portrait = read_image(PORTRAIT)
    full = edit_image(portrait, "happy", intensity=1.0).image
    same = edit_image(portrait, "happy", regions={"mouth": 1.0}).image
    assert np.array_equal(full, same)
    nothing = edit_image(portrait, "happy", regions=dict.fromkeys(REGIONS, 0.0)).image
    assert np.array_equal(nothing, portrait)
    mouth_only = edit_image(portrait, "happy", intensity=0.0, regions={"mouth": 1.0}).image
    face = align(portrait)[0]
    eye = np.rint(face.landmarks[0]).astype(int)
    mouth = np.rint(face.landmarks[3:].mean(axis=0)).astype(int)
    ey, ex = eye[1] + np.arange(-3, 4)[:, None], eye[0] + np.arange(-3, 4)
    assert np.array_equal(mouth_only[ey, ex], portrait[ey, ex])
    my, mx = mouth[1] + np.arange(-3, 4)[:, None], mouth[0] + np.arange(-3, 4)
    assert not np.array_equal(mouth_only[my, mx], portrait[my, mx])


def test_parse_and_check_region_doses():
    assert parse_regions("mouth=1.2, eyes=0.4") == {"mouth": 1.2, "eyes": 0.4}
    assert parse_regions("") == {}
    with pytest.raises(ValueError, match="unknown region 'nose'"):
        parse_regions("nose=1")
    with pytest.raises(ValueError, match="name=value"):
        parse_regions("mouth")
    with pytest.raises(ValueError, match="not a number"):
        parse_regions("mouth=lots")
    with pytest.raises(ValueError, match=r"mouth intensity must be in \[0, 1.5\]"):
        intensity_map(128, {"mouth": 2.0})
    with pytest.raises(ValueError, match="intensity must be in"):
        edit_image(read_image(PORTRAIT), "happy", regions={"eyes": -1})
