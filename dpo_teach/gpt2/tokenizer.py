"""A byte-level BPE tokenizer trained locally on the review corpus, as a ``GPT2TokenizerFast``.

GPT-2's own tokenizer is byte-level BPE (Radford et al. 2019); training the same kind here keeps
everything offline, and wrapping it as ``GPT2TokenizerFast`` means the rest of the code (and
``save_pretrained`` / ``from_pretrained``) treats it exactly like the real one. The one special
token ``<|endoftext|>`` is BOS, EOS and padding at once, as in GPT-2.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import GPT2TokenizerFast

__all__ = ["EOS_TOKEN", "train_tokenizer"]

EOS_TOKEN = "<|endoftext|>"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512) -> GPT2TokenizerFast:
    """Train a byte-level BPE on ``texts`` and wrap it as a ``GPT2TokenizerFast``.

    The 256 byte symbols are always in the vocabulary, so any text can be encoded; merges
    stop early when the corpus has no more pairs to merge (a small grammar gives about one
    token per word, far fewer than ``vocab_size``).
    """
    if vocab_size < 257:
        raise ValueError(f"vocab_size must be >= 257 (256 bytes + {EOS_TOKEN}), got {vocab_size}")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)  # " word" -> "Ġword"
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(texts, trainer)
    return GPT2TokenizerFast(
        tokenizer_object=bpe,
        bos_token=EOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,  # padding is found by the attention mask, never by this id
    )
