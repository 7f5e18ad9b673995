"""The embedding network as an ONNX graph: exported once from torch into the cache (or shipped in
a bundle, which has no torch), with timm's "same" padding frozen to the fixed input size so the
graph is plain convolutions ONNX Runtime runs fast."""
from __future__ import annotations

import copy
import os
import sys
import tempfile
import warnings
from importlib import metadata

from .paths import cache_dir
from .spec import EmbeddingSpec

#: Bump when the exported graph changes shape, so stale cached exports are not reused.
GRAPH_VERSION = 2


def onnx_path(spec: EmbeddingSpec) -> str:
    """Where the exported graph of ``spec`` is cached; the name changes with torch, ORT and the graph."""
    versions = []
    for package in ("torch", "onnxruntime"):
        try:
            versions.append(metadata.version(package).split("+")[0])
        except metadata.PackageNotFoundError:  # pragma: no cover - both ship with photosim
            versions.append("none")
    tag = f"{spec.key}-g{GRAPH_VERSION}-torch{versions[0]}-ort{versions[1]}"
    return os.path.join(cache_dir(), "onnx", tag + ".onnx")


def bundled_onnx_name(spec: EmbeddingSpec) -> str:
    """File name of the graph that packaging/photosim.spec exports into the bundle at build time."""
    return f"{spec.key}-g{GRAPH_VERSION}.onnx"


def bundled_onnx_path(spec: EmbeddingSpec) -> str | None:
    """The graph shipped inside a frozen (PyInstaller) bundle, which has no torch to export one."""
    if not getattr(sys, "frozen", False):
        return None
    base = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
    path = os.path.join(base, "photosim", "models", bundled_onnx_name(spec))
    return path if os.path.exists(path) else None


def export_onnx(spec: EmbeddingSpec, path: str) -> None:
    """Export the embedding module of ``spec`` to ``path`` (atomically: temp file, then rename)."""
    import torch

    from .backbone import embedder

    os.makedirs(os.path.dirname(path), exist_ok=True)
    module = static_padding(embedder(spec), spec.size)
    sample = torch.zeros((2, spec.size, spec.size, 3), dtype=torch.uint8)
    fd, tmp = tempfile.mkstemp(suffix=".onnx", dir=os.path.dirname(path))
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (sample,), tmp, input_names=["images"], output_names=["vectors"],
                              dynamic_axes={"images": {0: "n"}, "vectors": {0: "n"}},
                              opset_version=17, dynamo=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def static_padding(module, size: int):
    """A copy of ``module`` whose TF-"same" convolutions have their padding frozen for ``size``.

    timm pads stride-2 convolutions asymmetrically, computed from the input's
    shape on every call; for a fixed input size the padding is a constant, and
    in the exported graph it becomes the Conv node's own ``pads`` attribute.
    The copy computes exactly what the original does (same pad, same conv).
    """
    import torch
    from timm.layers.conv2d_same import Conv2dSame

    module = copy.deepcopy(module)
    inputs: dict[str, tuple[int, int]] = {}
    hooks = [m.register_forward_pre_hook(lambda _m, args, name=name: inputs.__setitem__(name, args[0].shape[-2:]))
             for name, m in module.named_modules() if isinstance(m, Conv2dSame)]
    try:
        with torch.inference_mode():
            module(torch.zeros((1, size, size, 3), dtype=torch.uint8))
    finally:
        for h in hooks:
            h.remove()
    for name, (height, width) in inputs.items():
        parent_name, _, attr = name.rpartition(".")
        parent = module.get_submodule(parent_name) if parent_name else module
        setattr(parent, attr, _FrozenSameConv(getattr(parent, attr), int(height), int(width)))
    return module


def _same_pad(length: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]:
    """TF "same" padding (before, after) of one axis, as timm computes it."""
    total = max((-(-length // stride) - 1) * stride + (kernel - 1) * dilation + 1 - length, 0)
    return total // 2, total - total // 2


def _frozen_same_conv_class():
    import torch
    import torch.nn.functional as F

    class PaddedConv(torch.autograd.Function):
        """pad + conv in torch; a single Conv node with asymmetric ``pads`` in ONNX."""

        @staticmethod
        def forward(ctx, x, weight, pads, stride, dilation, groups, kernel):  # noqa: ARG004, PLR0913 - torch.autograd.Function's signature: one argument per convolution attribute
            top, left, bottom, right = pads
            return F.conv2d(F.pad(x, (left, right, top, bottom)), weight, None, stride, 0, dilation, groups)

        @staticmethod
        def symbolic(g, x, weight, pads, stride, dilation, groups, kernel):  # noqa: PLR0913 - ONNX symbolic functions mirror forward's arguments
            return g.op("Conv", x, weight, pads_i=list(pads), strides_i=list(stride),
                        dilations_i=list(dilation), group_i=groups, kernel_shape_i=list(kernel))

    class FrozenSameConv(torch.nn.Module):
        def __init__(self, conv, height: int, width: int) -> None:
            super().__init__()
            if conv.bias is not None:
                raise ValueError("a biased 'same' convolution is not expected in Lite0")
            self.conv = conv
            top, bottom = _same_pad(height, conv.kernel_size[0], conv.stride[0], conv.dilation[0])
            left, right = _same_pad(width, conv.kernel_size[1], conv.stride[1], conv.dilation[1])
            self.pads = (top, left, bottom, right)

        def forward(self, x):
            c = self.conv
            return PaddedConv.apply(x, c.weight, self.pads, tuple(c.stride), tuple(c.dilation), c.groups,
                                    tuple(c.kernel_size))

    return FrozenSameConv


def _FrozenSameConv(conv, height: int, width: int):  # noqa: N802 - builds a torch module lazily
    return _frozen_same_conv_class()(conv, height, width)
