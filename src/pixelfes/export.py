"""Export a fitted model to ONNX, to run on the aligned crop with any ONNX runtime.

Each family becomes a few standard operators (opset 17), its fitted arrays initializers:

* Pixel-RR: ``Mul`` + ``Add`` (Eq. 4, one weight and bias per pixel);
* flow Pixel-RR: ``Reshape``, ``Gather`` of each pixel's source location (the learned
  offsets, at intensity 1), ``Reshape``, then Pixel-RR's ``Mul`` + ``Add``;
* MR: a locally-connected layer, ``Pad`` then one ``Slice`` per neighbour, ``Concat``,
  ``Mul`` by the per-pixel weights, ``ReduceSum`` and ``Add``;
* lookup tables: ``Gather`` from the flattened (location, level) table; Pixel-KR on
  8-bit input exports its lookup table (exact at the 256 levels), on float input Eq. 16
  (``Sub``, ``Mul``, ``Exp``, ``Mul``, ``ReduceSum``);
* global ridge: two ``MatMul`` (Eq. 2 in dual form).

The graph's input ``crop`` is a stack of aligned crops, (N, H, W, C) with H, W, C those of
the model (``pixelfes.align(photo, size=H)``; see docs/export.md), and its output
``output`` has the same shape. ``input_type="uint8"``: uint8 in, uint8 out (the model's
output clipped to [0, 255] and rounded). ``"float"``: float32 on [0, 1] in, the model's
unclipped float32 prediction out.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from pixelfes.exceptions import InvalidInputError
from pixelfes.models import (
    FlowPixelRidge,
    GlobalRidge,
    MaskedRidge,
    PixelKernelRidge,
    PixelLookupTable,
    PixelRidge,
)
from pixelfes.models.base import BaseImageModel
from pixelfes.models.flow_ridge import source_index

if TYPE_CHECKING:
    import onnx

INPUT_TYPES = ("uint8", "float")
OPSET = 17
IR_VERSION = 8  # read by onnxruntime 1.10 and later
#: protobuf refuses messages over 2 GiB; stay clear of it
MAX_INITIALIZER_BYTES = 1_800_000_000


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError(
            "ONNX export needs the onnx package: pip install 'pixelfes[export]'"
        ) from None
    return onnx


class _Graph:
    """Collects nodes and initializers; ``op`` returns the name of a node's output."""

    def __init__(self) -> None:
        self.onnx = _onnx()
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.n_bytes = 0

    def const(self, value: np.ndarray, name: str) -> str:
        value = np.ascontiguousarray(value)
        self.n_bytes += value.nbytes
        if self.n_bytes > MAX_INITIALIZER_BYTES:
            raise InvalidInputError(
                f"the model's arrays exceed {MAX_INITIALIZER_BYTES / 1e9:.1f} GB, more than "
                "one ONNX file holds; export a smaller model (fewer pairs, lower resolution)"
            )
        self.initializers.append(self.onnx.numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: list[str], **attributes: Any) -> str:
        output = f"{op_type.lower()}_{len(self.nodes)}"
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], **attributes))
        return output


def to_onnx(model: BaseImageModel, input_type: str = "uint8") -> onnx.ModelProto:
    """Build the ONNX graph of a fitted model (see the module docstring).

    Parameters
    ----------
    model : PixelRidge, FlowPixelRidge, PixelKernelRidge, MaskedRidge, GlobalRidge or
        PixelLookupTable
        A fitted model.
    input_type : {"uint8", "float"}
        uint8 crops in and out, or float32 [0, 1] crops in and the unclipped prediction out.

    Returns
    -------
    onnx.ModelProto
        Checked with ``onnx.checker``.

    Raises
    ------
    TypeError
        For an object that is not one of the exportable models.
    NotFittedError
        For an unfitted model.
    InvalidInputError
        For an unknown ``input_type`` or a model too large for one ONNX file.
    ImportError
        When the ``onnx`` package is missing (the ``export`` extra).
    """
    if input_type not in INPUT_TYPES:
        raise InvalidInputError(f"input_type must be one of {INPUT_TYPES}; got {input_type!r}")
    builders = {
        PixelRidge: _pixel_ridge,
        FlowPixelRidge: _flow_ridge,
        MaskedRidge: _masked_ridge,
        PixelLookupTable: _lookup_table,
        PixelKernelRidge: _kernel_ridge,
        GlobalRidge: _global_ridge,
    }
    builder = builders.get(type(model))  # type: ignore[arg-type]
    if builder is None:
        names = ", ".join(cls.__name__ for cls in builders)
        raise TypeError(f"cannot export {type(model).__name__} to ONNX; exportable: {names}")
    model._check_fitted()
    onnx = _onnx()
    graph = _Graph()
    uint8 = input_type == "uint8"
    output = builder(graph, model, "crop", uint8)
    if uint8:
        scaled = graph.op("Mul", [output, graph.const(np.float32(255.0), "to_255")])
        clipped = graph.op(
            "Clip",
            [
                graph.op("Round", [scaled]),
                graph.const(np.float32(0), "zero"),
                graph.const(np.float32(255), "top"),
            ],
        )
        output = graph.op("Cast", [clipped], to=onnx.TensorProto.UINT8)
    graph.nodes.append(onnx.helper.make_node("Identity", [output], ["output"]))
    element = onnx.TensorProto.UINT8 if uint8 else onnx.TensorProto.FLOAT
    shape = ["N", *model.image_shape_]
    proto = onnx.helper.make_model(
        onnx.helper.make_graph(
            graph.nodes,
            f"pixelfes_{type(model).__name__}",
            [onnx.helper.make_tensor_value_info("crop", element, shape)],
            [onnx.helper.make_tensor_value_info("output", element, shape)],
            graph.initializers,
        ),
        opset_imports=[onnx.helper.make_opsetid("", OPSET)],
        producer_name="pixelfes",
        doc_string=__doc__,
    )
    proto.ir_version = IR_VERSION
    onnx.helper.set_model_props(proto, _properties(model, input_type))
    onnx.checker.check_model(proto)
    return proto


def export_onnx(
    model: BaseImageModel, path: str | os.PathLike[str], input_type: str = "uint8"
) -> None:
    """Write :func:`to_onnx` of ``model`` to ``path`` atomically (temporary file + rename)."""
    from pixelfes.atomic import atomic_open

    proto = to_onnx(model, input_type)
    with atomic_open(path) as handle:
        handle.write(proto.SerializeToString())


def _properties(model: BaseImageModel, input_type: str) -> dict[str, str]:
    from pixelfes import __version__

    height, width, channels = model.image_shape_
    metadata = getattr(model, "metadata_", {}) or {}
    return {
        "pixelfes_version": __version__,
        "model_class": type(model).__name__,
        "params": json.dumps(model.get_params()),
        "crop": f"{height}x{width}x{channels} aligned face, pixelfes.align(photo, size={height})",
        "input_type": input_type,
        "intensity_scale": "uint8 0..255" if input_type == "uint8" else "float32 [0, 1]",
        **{f"metadata.{k}": json.dumps(v) for k, v in metadata.items()},
    }


def _as_unit(graph: _Graph, name: str, uint8: bool) -> str:
    """The input on the [0, 1] float scale."""
    if not uint8:
        return name
    as_float = graph.op("Cast", [name], to=graph.onnx.TensorProto.FLOAT)
    return graph.op("Mul", [as_float, graph.const(np.float32(1 / 255), "from_255")])


def _pixel_ridge(graph: _Graph, model: PixelRidge, name: str, uint8: bool) -> str:
    x = _as_unit(graph, name, uint8)
    scaled = graph.op("Mul", [x, graph.const(model.coef_[None].astype(np.float32), "coef")])
    return graph.op("Add", [scaled, graph.const(model.intercept_[None].astype(np.float32), "bias")])


def _flow_ridge(graph: _Graph, model: FlowPixelRidge, name: str, uint8: bool) -> str:
    height, width, channels = model.image_shape_
    pixels = graph.const(np.array([-1, height * width, channels]), "pixels")
    flat = graph.op("Reshape", [name, pixels])
    index = graph.const(source_index(model.offsets_).astype(np.int64), "source")
    gathered = graph.op("Gather", [flat, index], axis=1)
    image = graph.const(np.array([-1, height, width, channels]), "image")
    return _pixel_ridge(graph, model.texture(), graph.op("Reshape", [gathered, image]), uint8)


def _masked_ridge(graph: _Graph, model: MaskedRidge, name: str, uint8: bool) -> str:
    height, width, _ = model.image_shape_
    r = int(model.radius)
    x = _as_unit(graph, name, uint8)
    pads = graph.const(np.array([0, r, r, 0, 0, r, r, 0], np.int64), "pads")
    padded = graph.op("Pad", [x, pads])  # zeros outside the image, as in the fit
    columns = []
    span = range(-r, r + 1)
    for dy in span:
        for dx in span:
            start = graph.const(np.array([r + dy, r + dx], np.int64), f"start_{dy}_{dx}")
            stop = graph.const(
                np.array([r + dy + height, r + dx + width], np.int64), f"stop_{dy}_{dx}"
            )
            window = graph.op(
                "Slice",
                [padded, start, stop, graph.const(np.array([1, 2], np.int64), f"axes_{dy}_{dx}")],
            )
            columns.append(
                graph.op(
                    "Unsqueeze", [window, graph.const(np.array([4], np.int64), f"at_{dy}_{dx}")]
                )
            )
    stacked = graph.op("Concat", columns, axis=4)  # (N, H, W, C, m), row-major offsets
    weighted = graph.op("Mul", [stacked, graph.const(model.coef_.astype(np.float32), "coef")])
    summed = graph.op(
        "ReduceSum", [weighted, graph.const(np.array([4], np.int64), "neighbours")], keepdims=0
    )
    return graph.op("Add", [summed, graph.const(model.intercept_.astype(np.float32), "bias")])


def _gather(graph: _Graph, table: PixelLookupTable, name: str, uint8: bool) -> str:
    if uint8:
        levels = graph.op("Cast", [name], to=graph.onnx.TensorProto.INT64)
    else:  # the nearest of the 256 levels, as PixelLookupTable.predict does
        clipped = graph.op(
            "Clip", [name, graph.const(np.float32(0), "low"), graph.const(np.float32(1), "high")]
        )
        scaled = graph.op("Mul", [clipped, graph.const(np.float32(255), "levels")])
        levels = graph.op("Cast", [graph.op("Round", [scaled])], to=graph.onnx.TensorProto.INT64)
    offsets = table._offsets().reshape(1, *table.image_shape_).astype(np.int64) * 256
    index = graph.op("Add", [levels, graph.const(offsets, "table_rows")])
    values = graph.const(table.table_.astype(np.float32).reshape(-1), "table")
    return graph.op("Gather", [values, index], axis=0)


def _lookup_table(graph: _Graph, model: PixelLookupTable, name: str, uint8: bool) -> str:
    return _gather(graph, model, name, uint8)


def _kernel_ridge(graph: _Graph, model: PixelKernelRidge, name: str, uint8: bool) -> str:
    if uint8:  # exact at the 256 levels: the lookup table
        return _gather(graph, model.to_lookup_table(), name, uint8)
    height, width, channels = model.image_shape_
    model._ensure_solved()
    n_samples = model.dual_coef_.shape[1]
    table_channels = 1 if model.channels == "shared" else channels
    shape = (height, width, table_channels, n_samples)
    inputs = graph.const(model.train_inputs_.reshape(shape).astype(np.float32), "train_inputs")
    dual = graph.const(model.dual_coef_.reshape(shape).astype(np.float32), "dual_coef")
    x = graph.op("Unsqueeze", [name, graph.const(np.array([4], np.int64), "sample_axis")])
    diff = graph.op("Sub", [x, inputs])  # (N, H, W, C, M)
    square = graph.op("Mul", [diff, diff])
    gain = np.float32(-0.5 / float(model.sigma) ** 2)
    kernel = graph.op("Exp", [graph.op("Mul", [square, graph.const(gain, "gain")])])  # Eq. 12
    weighted = graph.op("Mul", [kernel, dual])
    return graph.op(
        "ReduceSum", [weighted, graph.const(np.array([4], np.int64), "samples")], keepdims=0
    )


def _global_ridge(graph: _Graph, model: GlobalRidge, name: str, uint8: bool) -> str:
    size = int(np.prod(model.image_shape_))
    x = _as_unit(graph, name, uint8)
    flat = graph.op("Reshape", [x, graph.const(np.array([-1, size], np.int64), "flat")])
    similarity = graph.op(
        "MatMul", [flat, graph.const(model.train_inputs_.T.astype(np.float32), "train_inputs_t")]
    )
    y = graph.op(
        "MatMul", [similarity, graph.const(model.dual_coef_.astype(np.float32), "dual_coef")]
    )
    shape = graph.const(np.array([-1, *model.image_shape_], np.int64), "image")
    return graph.op("Reshape", [y, shape])
