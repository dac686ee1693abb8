"""ONNX export: onnxruntime reproduces every family; bad exports fail with a clear error."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from pixelfes.cli import main
from pixelfes.editing import load_model
from pixelfes.exceptions import NotFittedError
from pixelfes.models import FlowPixelRidge, GlobalRidge, MaskedRidge, PixelKernelRidge, PixelRidge

onnx = pytest.importorskip("onnx", reason="ONNX export needs the export extra")
ort = pytest.importorskip("onnxruntime", reason="ONNX export tests need the export extra")

from pixelfes import export  # noqa: E402  (after the skip: it needs onnx)

RNG = np.random.default_rng(0)
X = RNG.integers(0, 256, (24, 8, 6, 3), dtype=np.uint8)
T = np.clip(0.8 * X + RNG.normal(20, 15, X.shape), 0, 255).astype(np.uint8)
QUERY = RNG.integers(0, 256, (5, 8, 6, 3), dtype=np.uint8)

FAMILIES = {
    "pixel-rr": lambda: PixelRidge().fit(X, T),
    "pixel-rr-independent": lambda: PixelRidge(channels="independent").fit(X, T),
    "mr": lambda: MaskedRidge().fit(X, T),
    "flow-rr": lambda: FlowPixelRidge(radius=3, smooth=0, penalty=0).fit(X, np.roll(T, 1, 1)),
    "flow-rr-gray": lambda: FlowPixelRidge(radius=2).fit(X[..., :1], np.roll(T[..., :1], 1, 2)),
    "mr-radius-2-gray": lambda: MaskedRidge(radius=2).fit(X[..., :1], T[..., :1]),
    "pixel-kr-levels": lambda: PixelKernelRidge(sigma=0.2).fit(X, T),
    "pixel-kr-dense": lambda: PixelKernelRidge(sigma=0.2, channels="independent").fit(X / 255, T),
    "global-rr": lambda: GlobalRidge().fit(X, T),
    "lookup-table": lambda: PixelRidge().fit(X, T).to_lookup_table(),
    "lookup-table-float16": lambda: PixelKernelRidge(sigma=0.5)
    .fit(X, T)
    .to_lookup_table("float16"),
}


def run(proto, crops: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(["output"], {"crop": crops})[0]


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_round_trip_uint8_within_one_grey_level(family):
    model = FAMILIES[family]()
    crops = QUERY[..., : model.image_shape_[2]]
    out = run(export.to_onnx(model, "uint8"), crops)
    ours = np.clip(np.rint(model.predict(crops) * 255), 0, 255)
    assert out.dtype == np.uint8 and out.shape == crops.shape
    assert np.abs(out.astype(int) - ours).max() <= 1


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_round_trip_float_within_1e5(family):
    model = FAMILIES[family]()
    crops = (QUERY[..., : model.image_shape_[2]] / np.float32(255)).astype(np.float32)
    out = run(export.to_onnx(model, "float"), crops)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, model.predict(crops), rtol=0, atol=1e-5)


def test_graph_uses_the_documented_operators():
    def ops(model):
        return {node.op_type for node in export.to_onnx(model, "float").graph.node}

    assert {"Mul", "Add"} <= ops(FAMILIES["pixel-rr"]()) <= {"Mul", "Add", "Identity"}
    assert {"Pad", "Slice", "Concat", "ReduceSum"} <= ops(FAMILIES["mr"]())
    assert "Gather" in ops(FAMILIES["lookup-table"]())
    kernel = FAMILIES["pixel-kr-levels"]()
    assert "Exp" in ops(kernel)
    assert "Gather" in {n.op_type for n in export.to_onnx(kernel, "uint8").graph.node}


def test_cli_export_runs_elsewhere(tmp_path):
    PixelRidge().fit(X, T).save(tmp_path / "m.npz")
    result = CliRunner().invoke(
        main, ["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "m.onnx")]
    )
    assert result.exit_code == 0, result.output
    proto = onnx.load(str(tmp_path / "m.onnx"))
    properties = {p.key: p.value for p in proto.metadata_props}
    assert properties["model_class"] == "PixelRidge" and properties["input_type"] == "uint8"
    assert run(proto, QUERY).shape == QUERY.shape
    args = ["export", "neutral-to-happy", "-o", str(tmp_path / "happy.onnx")]
    bundled = CliRunner().invoke(main, args)
    assert bundled.exit_code == 0, bundled.output
    proto = onnx.load(str(tmp_path / "happy.onnx"))
    # the bundled models are fitted on the luma: one channel (the photo pipeline adds the
    # luma change to R, G and B)
    expected = list(load_model("neutral-to-happy").image_shape_)
    assert [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim][1:] == expected


def test_unsupported_and_unfitted_models():
    with pytest.raises(TypeError, match="cannot export dict"):
        export.to_onnx({"coef_": 1})
    with pytest.raises(NotFittedError):
        export.to_onnx(PixelRidge())
    with pytest.raises(ValueError, match="input_type"):
        export.to_onnx(FAMILIES["pixel-rr"](), "int16")


def test_too_large_for_one_file(monkeypatch):
    monkeypatch.setattr(export, "MAX_INITIALIZER_BYTES", 1000)
    with pytest.raises(ValueError, match="more than one ONNX file holds"):
        export.to_onnx(FAMILIES["global-rr"]())


def test_missing_onnx_is_named(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx":
            raise ImportError("no onnx")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r"pixelfes\[export\]"):
        export.to_onnx(FAMILIES["pixel-rr"]())


def test_cli_errors_are_clear_and_leave_no_file(tmp_path):
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip")
    target = tmp_path / "out.onnx"
    result = CliRunner().invoke(main, ["export", str(corrupt), "-o", str(target)])
    assert result.exit_code == 2 and "not a pixelfes model file" in result.output
    result = CliRunner().invoke(main, ["export", "no-such-model", "-o", str(target)])
    assert result.exit_code == 2 and "unknown model" in result.output
    PixelRidge().fit(X, T).save(tmp_path / "m.npz")
    result = CliRunner().invoke(main, ["export", str(tmp_path / "m.npz"), "-o", str(tmp_path)])
    assert result.exit_code == 2 and "is a folder" in result.output
    assert not target.exists()
