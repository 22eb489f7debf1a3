"""Local stand-ins for what the real-world path downloads: a tiny random GPT-2 and a tiny random
sentiment classifier (each saved with save_pretrained, with the review tokenizer), a chat template,
and a preference dataset in each of TRL's three formats, stored every way the loader reads."""

from __future__ import annotations

import copy
import json

# a minimal chat template: each message as <|role|>content<|endoftext|>; the generation prompt
# is the assistant's header, so the prompt renders as a prefix of the whole conversation
CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|endoftext|>{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)

STANDARD = [
    {"prompt": "the film was", "chosen": " great and the acting felt superb.", "rejected": " awful."},
    {"prompt": "the plot seemed", "chosen": " charming.", "rejected": " boring and the music was bad."},
    {"prompt": "the acting was", "chosen": " very good.", "rejected": " somewhat bad."},
    {"prompt": "the ending felt", "chosen": " superb.", "rejected": " dull."},
]


def conversational(rows=STANDARD) -> list[dict]:
    """The standard rows as one user turn and one assistant turn each."""
    turn = lambda role, text: [{"role": role, "content": text.strip()}]  # noqa: E731
    return [{"prompt": turn("user", r["prompt"]), "chosen": turn("assistant", r["chosen"]),
             "rejected": turn("assistant", r["rejected"])} for r in rows]  # fmt: skip


def implicit(rows=STANDARD) -> list[dict]:
    """The standard rows with the prompt inside both texts (TRL's implicit-prompt format)."""
    return [{"chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"] + r["rejected"]} for r in rows]


def conversational_implicit(rows=STANDARD) -> list[dict]:
    return [{"chosen": r["prompt"] + r["chosen"], "rejected": r["prompt"] + r["rejected"]}
            for r in conversational(rows)]  # fmt: skip


def chat_tokenizer(tokenizer):
    """A copy of ``tokenizer`` with :data:`CHAT_TEMPLATE`."""
    tok = copy.deepcopy(tokenizer)
    tok.chat_template = CHAT_TEMPLATE
    return tok


def save_rows(rows: list[dict], path, how: str):
    """Store ``rows`` as ``how``: disk (Dataset.save_to_disk), dict (a DatasetDict with a train
    and a test split), json (one array), jsonl, parquet. Returns the path to load from."""
    if how == "json":
        path.write_text(json.dumps(rows), encoding="utf-8")
    elif how == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        import datasets

        data = datasets.Dataset.from_list(rows)
        if how == "parquet":
            data.to_parquet(str(path))
        elif how == "disk":
            data.save_to_disk(str(path))
        elif how == "dict":
            datasets.DatasetDict({"train": data, "test": data.select([0])}).save_to_disk(str(path))
        else:
            raise ValueError(how)
    return path


def save_causal_lm(tokenizer, path, seed: int = 0):
    """The tiny preset GPT-2 (random) with ``tokenizer``, saved with save_pretrained."""
    from dpo_teach.gpt2.models import build_model

    model = build_model("tiny", tokenizer, seed=seed)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model


def save_classifier(tokenizer, path, labels=("NEGATIVE", "POSITIVE"), seed: int = 0):
    """A 1-layer random GPT-2 sequence classifier with ``labels``, saved with ``tokenizer``."""
    import torch
    from transformers import GPT2Config, GPT2ForSequenceClassification

    torch.manual_seed(seed)
    eos = tokenizer.eos_token_id
    config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=16, n_layer=1, n_head=2,
                        num_labels=len(labels), id2label=dict(enumerate(labels)),
                        label2id={name: i for i, name in enumerate(labels)},
                        bos_token_id=eos, eos_token_id=eos, pad_token_id=eos)  # fmt: skip
    model = GPT2ForSequenceClassification(config).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model
