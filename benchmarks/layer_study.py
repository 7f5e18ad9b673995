"""Which layer and pooling make the best base embedding? Writes the figures of docs/eval.md.

Decodes the class-per-folder tree once per input size, runs the pretrained
Lite0 once per size with hooks on every candidate layer, and scores each
(layer, pooling) with the same retrieval measure as ``photosim eval``
(core.evaluate): cheaper than running ``photosim eval`` for each setting. The
shipped default is then measured with the real command (`photosim eval`,
through ONNX Runtime, SQLite and the decoder), and both are written into the
marked sections of docs/eval.md with the machine's conditions.

    python benchmarks/layer_study.py [ROOT] [--no-doc]     # ROOT: ../shared/data/caltech101-20
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _docs import CALTECH, ROOT, conditions, publish  # noqa: E402

from photosim.core.backbone import LAYERS, Truncated, pool  # noqa: E402
from photosim.core.decode import decode_file  # noqa: E402
from photosim.core.evaluate import retrieval_scores  # noqa: E402
from photosim.core.scan import scan  # noqa: E402
from photosim.core.spec import EmbeddingSpec  # noqa: E402
from photosim.core.types import DecodedPhoto  # noqa: E402

DOC = ROOT / "docs" / "eval.md"
GEM_PS = (1.5, 2.0, 3.0, 4.0)
MAIN_SIZE = 224                      # what the network was trained at; every layer is scored here
OTHER_SIZES = (192, 256)             # the last layers only
CONCATS = (("blocks.5", "head"), ("blocks.6", "head"), ("blocks.5", "blocks.6"))


def load(root: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(scan([root], lambda: False).files, key=lambda f: f.path)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
        decoded = list(ex.map(lambda f: decode_file(f.path, size, with_keypoints=False), files))
    ok = [d for d in decoded if isinstance(d, DecodedPhoto)]
    labels = np.array([os.path.relpath(d.path, root).split(os.sep)[0] for d in ok])
    return np.stack([d.pixels for d in ok]), labels


def layer_maps(pixels: np.ndarray, layers: list[str], batch: int = 32) -> dict[str, list[torch.Tensor]]:
    """Feature maps of the candidate layers, from one pass of the full network."""
    net = Truncated("head").eval()
    captured: dict[str, torch.Tensor] = {}
    blocks = list(net.blocks.children())
    hooks = []
    for name in layers:
        module = net.head if name == "head" else blocks[int(name.split(".")[1])]
        hooks.append(module.register_forward_hook(lambda m, i, o, name=name: captured.__setitem__(name, o)))
    out: dict[str, list[torch.Tensor]] = {name: [] for name in layers}
    with torch.inference_mode():
        for start in range(0, len(pixels), batch):
            net(torch.from_numpy(pixels[start:start + batch]))
            for name in layers:
                out[name].append(captured[name])
    for h in hooks:
        h.remove()
    return out


def pooled(maps: list[torch.Tensor], method: str, p: float) -> np.ndarray:
    return F.normalize(torch.cat([pool(m, method, p) for m in maps]), dim=1).numpy()


def pooling_name(method: str, p: float) -> str:
    return f"gem (p={p:g})" if method == "gem" else method


def study(root: str, size: int, layers: list[str], concat: bool) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(layer, pooling) -> (mAP, P@10, R-precision) at one input size."""
    t0 = time.perf_counter()
    pixels, labels = load(root, size)
    maps = layer_maps(pixels, layers)
    vectors, scores = {}, {}
    for layer in layers:
        for method, p in [("mean", 1.0), ("max", 1.0)] + [("gem", p) for p in GEM_PS]:
            name = pooling_name(method, p)
            vectors[(layer, name)] = pooled(maps[layer], method, p)
            s = retrieval_scores(vectors[(layer, name)], labels)
            scores[(layer, name)] = (s.map, s.precision_at_10, s.r_precision)
            print(f"  {size} {layer:9} {name:12} mAP {s.map:.4f}", flush=True)
    if concat:
        for a, b in CONCATS:
            for name in ("mean", "gem (p=3)"):
                v = np.concatenate([vectors[(a, name)], vectors[(b, name)]], axis=1) / np.sqrt(2)
                s = retrieval_scores(v, labels)
                scores[(f"{a} ‖ {b}", name)] = (s.map, s.precision_at_10, s.r_precision)
    print(f"size {size}: {len(labels)} photos in {time.perf_counter() - t0:.0f} s", flush=True)
    return scores


def table(scores: dict, keys: list[tuple[str, str]], with_size: int | None = None) -> str:
    head = ("| size " if with_size else "") + "| layer | pooling | mAP | P@10 | R-precision |\n"
    head += ("|---:" if with_size else "") + "|---|---|---:|---:|---:|\n"
    body = "".join((f"| {with_size} " if with_size else "") + f"| {layer} | {name} | "
                   + " | ".join(f"{x:.4f}" for x in scores[(layer, name)]) + " |\n" for layer, name in keys)
    return head + body


def real_command(root: str) -> str:
    """The shipped default through `photosim eval` itself (ONNX Runtime, SQLite, the decoder)."""
    proc = subprocess.run([sys.executable, "-m", "photosim.cli", "eval", root, "-q"], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    return proc.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", nargs="?", default=str(CALTECH))
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/eval.md alone")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    started = conditions()
    main_scores = study(args.root, MAIN_SIZE, list(LAYERS), concat=True)
    last = ["blocks.6", "head"]
    other = {size: study(args.root, size, last, concat=False) for size in OTHER_SIZES}
    command = real_command(args.root)
    print(command)

    default = EmbeddingSpec()
    shipped = (default.layer, pooling_name(default.pooling, default.gem_p))
    poolings = ["mean", "max"] + [pooling_name("gem", p) for p in GEM_PS]
    head = {name: main_scores[("head", name)][0] for name in poolings}
    best_single = max(((k, v) for k, v in main_scores.items() if "‖" not in k[0]), key=lambda kv: kv[1][0])
    best_concat = max(((k, v) for k, v in main_scores.items() if "‖" in k[0]), key=lambda kv: kv[1][0])
    sizes = {MAIN_SIZE: main_scores, **other}
    best_size = max(sizes, key=lambda s: max(sizes[s][("head", name)][0] for name in poolings))
    when = f"Measured by `benchmarks/layer_study.py` on {Path(args.root).name}: {started}."

    sections = {
        "eval_default": (
            f"**layer `{default.layer}`, {default.pooling} pooling"
            + (f" with p = {default.gem_p:g}" if default.pooling == "gem" else "")
            + f", {default.size}×{default.size}** (`EmbeddingSpec()`, model key `{default.key}`). "
            "Measured with the real command:\n\n"
            f"    $ photosim eval {os.path.relpath(args.root, ROOT)}\n    {command}\n\n"
            f"At the same layer the study below gives mAP {head['mean']:.4f} for mean pooling and "
            f"{head['gem (p=3)']:.4f} for GeM p = 3; the shipped setting {main_scores[shipped][0]:.4f} "
            "(the study runs torch, the command ONNX Runtime).\n\n" + when),
        "layer_study": (
            table(main_scores, [(layer, name) for layer in LAYERS for name in poolings])
            + f"\nBest single layer: `{best_single[0][0]}` with {best_single[0][1]} (mAP {best_single[1][0]:.4f}). "
            "At `head`, mAP by pooling: " + ", ".join(f"{n} {v:.4f}" for n, v in head.items()) + ".\n\n" + when),
        "layer_study_concat": (
            table(main_scores, [(f"{a} ‖ {b}", name) for a, b in CONCATS for name in ("mean", "gem (p=3)")])
            + f"\nBest concatenation: {best_concat[0][0]}, {best_concat[0][1]} (mAP {best_concat[1][0]:.4f}), "
            f"against {best_single[1][0]:.4f} for the best single layer.\n\n" + when),
        "layer_study_sizes": (
            "".join(table(other[size], [(layer, name) for layer in last for name in poolings], with_size=size)
                    + "\n" for size in OTHER_SIZES)
            + f"Best input size for `head`: {best_size}.\n\n" + when),
    }
    publish(sections, DOC, write=not args.no_doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
