"""Which layer and pooling make the best base embedding? Prints a markdown table.

Decodes the class-per-folder tree once, runs the pretrained Lite0 once per input
size with hooks on every candidate layer, and scores each (layer, pooling)
with the same retrieval measure as ``photosim eval`` (core.evaluate). Cheaper
than running ``photosim eval`` twenty times; the shipped default's figure is
confirmed with the real command in docs/eval.md.

    python benchmarks/layer_study.py ../shared/data/caltech101-20 [--sizes 224 256] [--concat]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from photosim.core.backbone import LAYERS, Truncated, pool
from photosim.core.decode import decode_file
from photosim.core.evaluate import retrieval_scores
from photosim.core.scan import scan
from photosim.core.types import DecodedPhoto

DEFAULT_GEM_PS = (2.0, 3.0, 4.0)


def load(root: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(scan([root], lambda: False).files, key=lambda f: f.path)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
        decoded = list(ex.map(lambda f: decode_file(f.path, size), files))
    ok = [d for d in decoded if isinstance(d, DecodedPhoto)]
    labels = np.array([os.path.relpath(d.path, root).split(os.sep)[0] for d in ok])
    return np.stack([d.pixels for d in ok]), labels


def layer_maps(pixels: np.ndarray, batch: int = 32) -> dict[str, list[torch.Tensor]]:
    """Feature maps of every candidate layer, from one pass of the full network."""
    net = Truncated("head").eval()
    captured: dict[str, torch.Tensor] = {}
    hooks = []
    blocks = list(net.blocks.children())
    for name in LAYERS:
        module = net.head if name == "head" else blocks[int(name.split(".")[1])]
        hooks.append(module.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o)))
    out: dict[str, list[torch.Tensor]] = {name: [] for name in LAYERS}
    with torch.inference_mode():
        for start in range(0, len(pixels), batch):
            net(torch.from_numpy(pixels[start:start + batch]))
            for name in LAYERS:
                out[name].append(captured[name])
    for h in hooks:
        h.remove()
    return out


def pooled(maps: list[torch.Tensor], method: str, p: float) -> np.ndarray:
    return F.normalize(torch.cat([pool(m, method, p) for m in maps]), dim=1).numpy()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--sizes", type=int, nargs="+", default=[224])
    ap.add_argument("--concat", action="store_true", help="also score two-layer concatenations")
    ap.add_argument("--gem-ps", type=float, nargs="+", default=list(DEFAULT_GEM_PS))
    ap.add_argument("--layers", nargs="+", default=list(LAYERS), choices=LAYERS)
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    print("| size | layer | pooling | mAP | P@10 | R-precision |")
    print("|---:|---|---|---:|---:|---:|")
    for size in args.sizes:
        t0 = time.perf_counter()
        pixels, labels = load(args.root, size)
        maps = layer_maps(pixels)
        print(f"<!-- size {size}: {len(labels)} photos, {time.perf_counter() - t0:.0f} s -->", file=sys.stderr)
        vectors: dict[tuple[str, str], np.ndarray] = {}
        poolings = [("mean", 1.0), ("max", 1.0)] + [("gem", p) for p in args.gem_ps]
        for layer in args.layers:
            for method, p in poolings:
                name = f"gem (p={p:g})" if method == "gem" else method
                v = pooled(maps[layer], method, p)
                vectors[(layer, name)] = v
                s = retrieval_scores(v, labels)
                print(f"| {size} | {layer} | {name} | {s.map:.4f} | {s.precision_at_10:.4f} | {s.r_precision:.4f} |",
                      flush=True)
        if args.concat and {"blocks.5", "blocks.6", "head"} <= set(args.layers) and 3.0 in args.gem_ps:
            for a, b in (("blocks.5", "head"), ("blocks.6", "head"), ("blocks.5", "blocks.6")):
                for name in ("mean", "gem (p=3)"):
                    v = np.concatenate([vectors[(a, name)], vectors[(b, name)]], axis=1) / np.sqrt(2)
                    s = retrieval_scores(v, labels)
                    print(f"| {size} | {a} ‖ {b} | {name} | {s.map:.4f} | {s.precision_at_10:.4f} | "
                          f"{s.r_precision:.4f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
