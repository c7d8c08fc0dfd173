"""The tiny model's vocabulary comes from transformers' bytes_to_unicode and must not change (it is in the model's identity)."""

import hashlib
import json

import pytest


def test_byte_level_vocab_is_stable():
    pytest.importorskip("transformers")
    from pixelgen.render.tiny import _byte_level_vocab

    vocab, merges = _byte_level_vocab()
    assert len(vocab) == 2 + 2 * 256 and merges == ["#version: 0.2"]
    assert list(vocab)[:4] == ["<|startoftext|>", "<|endoftext|>", "!", '"'] and "Ā</w>" in vocab
    # The digest of the vocabulary the tiny model was first built with.
    digest = hashlib.sha256(json.dumps(vocab, ensure_ascii=False).encode()).hexdigest()
    assert digest == EXPECTED


EXPECTED = "817d098e50d4ba52c8172e8f5397f4fe2461bd71026e8b136ff029218c52b431"  # the hand-written copy it replaced gave the same
