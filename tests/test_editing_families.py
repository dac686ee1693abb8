"""Every model family the project saves edits a photo: through edit() and `pixelfes apply`."""

from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import pixelfes
from pixelfes.cli import main
from pixelfes.imageio import read_image
from pixelfes.models import FlowPixelRidge, GlobalRidge, MaskedRidge, PixelKernelRidge, PixelRidge

PORTRAIT = Path(str(resources.files("pixelfes").joinpath("assets", "astronaut.jpg")))
SIZE = 32


def brighten_pairs(channels: int = 3):
    """Random 8-bit crops and targets 40 levels brighter: every family learns to brighten."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 216, (24, SIZE, SIZE, channels), dtype=np.uint8)
    return X, X + np.uint8(40)


FAMILIES = {
    "pixel-rr": lambda X, T: PixelRidge(alpha=0.01).fit(X, T),
    "pixel-rr-gray": lambda X, T: PixelRidge(alpha=0.01).fit(X[..., :1], T[..., :1]),
    "pixel-kr-levels": lambda X, T: PixelKernelRidge(alpha=0.01, sigma=0.3).fit(X, T),
    "pixel-kr-dense": lambda X, T: PixelKernelRidge(alpha=0.01, sigma=0.3).fit(X[:8] / 255, T[:8]),
    "mr": lambda X, T: MaskedRidge(alpha=0.01).fit(X, T),
    "flow-rr": lambda X, T: FlowPixelRidge(alpha=0.01, radius=2).fit(X, T),
    "flow-rr-gray": lambda X, T: FlowPixelRidge(alpha=0.01).fit(X[..., :1], T[..., :1]),
    "global-rr": lambda X, T: GlobalRidge(alpha=1.0).fit(X[..., :1], T[..., :1]),
    "lookup-table": lambda X, T: PixelRidge(alpha=0.01).fit(X, T).to_lookup_table(),
    "lookup-table-kr-independent": lambda X, T: PixelKernelRidge(
        alpha=0.01, sigma=0.3, channels="independent"
    )
    .fit(X, T)
    .to_lookup_table("float16"),
}


@pytest.fixture(scope="module")
def portrait() -> np.ndarray:
    return read_image(PORTRAIT)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_saved_model_edits_through_edit(tmp_path, portrait, family):
    X, T = brighten_pairs()
    FAMILIES[family](X, T).save(tmp_path / "model.npz")
    model = pixelfes.load_model(tmp_path / "model.npz")
    result = pixelfes.editing.edit_image(portrait, model=model)
    ((x0, y0, x1, y1),) = result.faces
    face = (slice(y0, y1), slice(x0, x1))
    change = result.image[face].astype(int) - portrait[face]
    assert change.mean() > 5  # the face got brighter, as the model learned
    outside = result.image.copy()
    outside[face] = portrait[face]
    assert np.array_equal(outside, portrait)  # nothing else changed


def test_saved_lookup_table_through_apply(tmp_path):
    X, T = brighten_pairs()
    PixelRidge(alpha=0.01).fit(X, T).to_lookup_table().save(tmp_path / "table.npz")
    out = tmp_path / "out.png"
    args = ["edit", str(PORTRAIT), "--model", str(tmp_path / "table.npz"), "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert read_image(out).shape == read_image(PORTRAIT).shape


@pytest.mark.parametrize("family", ["lookup-table-kr", "flow-rr"])
def test_saved_model_edits_a_video(tmp_path, family):
    import cv2

    X, T = brighten_pairs()
    if family == "flow-rr":
        FlowPixelRidge(alpha=0.01, radius=2).fit(X, T).save(tmp_path / "table.npz")
    else:
        PixelKernelRidge(sigma=0.3).fit(X, T).to_lookup_table().save(tmp_path / "table.npz")
    frame = np.ascontiguousarray(read_image(PORTRAIT)[:, :, ::-1])
    source = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(source), cv2.VideoWriter_fourcc(*"mp4v"), 10, frame.shape[1::-1])
    for _ in range(3):
        writer.write(frame)
    writer.release()
    args = ["edit", str(source), "--model", str(tmp_path / "table.npz")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    edited = list(tmp_path.glob("clip_*.mp4"))
    assert len(edited) == 1
    ok, before = cv2.VideoCapture(str(source)).read()
    ok_after, after = cv2.VideoCapture(str(edited[0])).read()
    assert ok and ok_after
    ((x0, y0, x1, y1),) = pixelfes.editing.edit_image(
        frame[:, :, ::-1].copy(), model="neutral-to-happy"
    ).faces
    change = after[y0:y1, x0:x1].astype(int) - before[y0:y1, x0:x1]
    assert change.mean() > 5  # the face got brighter (re-encoding moves the rest by ~1)
