"""A tiny, randomly initialised CLIP written to disk, for the learned-metric tests."""

from __future__ import annotations

import json
from pathlib import Path


def write_tiny_clip(folder: Path) -> None:
    """A randomly initialised, tiny CLIP (model + byte-level tokenizer + image processor).

    Real weights cannot be fetched here; this exercises the loading and
    scoring code on a model that is genuinely present on disk.
    """
    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    # GPT-2/CLIP byte-to-unicode table: each byte is one token, so no merges are needed.
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            codes.append(256 + extra)
            extra += 1
    chars = [chr(c) for c in codes]
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = 512
    vocab["<|endoftext|>"] = 513
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")

    config = CLIPConfig(
        text_config={
            "vocab_size": 514, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "max_position_embeddings": 32,
            "bos_token_id": 512, "eos_token_id": 513, "pad_token_id": 513,
        },
        vision_config={
            "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
            "num_attention_heads": 2, "image_size": 32, "patch_size": 8,
        },
        projection_dim=8,
    )  # fmt: skip
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    CLIPProcessor(image_processor=images, tokenizer=tokenizer).save_pretrained(folder)
