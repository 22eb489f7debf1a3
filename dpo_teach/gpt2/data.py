"""Preference data: prompts, pairs sampled from a model and labelled by the true reward, JSON
Lines in and out, and text -> token ids.

The file format is the one TRL and the Hugging Face hub use for preference data: one JSON
object per line with the strings ``prompt``, ``chosen`` (:math:`y_w`) and ``rejected``
(:math:`y_l`); ``prompt + chosen`` is the whole preferred text.
"""

from __future__ import annotations

import io
import json
import random
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import numpy_dpo as nd
from ..files import atomic_write
from . import reviews
from .logprobs import check_pair_lengths
from .sampling import sample_completions

__all__ = [
    "REQUIRED_KEYS",
    "split_prompts",
    "label_pairs",
    "label_pair",
    "sample_preference_pairs",
    "write_preference_jsonl",
    "load_preference_jsonl",
    "encode_prompts",
    "tokenize_pairs",
]

REQUIRED_KEYS = ("prompt", "chosen", "rejected")


def split_prompts(n_train: int, n_eval: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Review openings for training and held-out evaluation; no eval prompt string ever
    appears among the training prompts (repeats within a split are allowed)."""
    rng = random.Random(seed)
    train, held_out = [], []
    assignment: dict[str, bool] = {}  # prompt string -> is it held out?
    while len(train) < n_train or len(held_out) < n_eval:
        prompt, _ = reviews.sample_prompt_completion(rng)
        if prompt not in assignment:
            assignment[prompt] = rng.random() < n_eval / (n_train + n_eval)
        target = held_out if assignment[prompt] else train
        if len(target) < (n_eval if assignment[prompt] else n_train):
            target.append(prompt)
    return train, held_out


def label_pairs(
    prompts: Sequence[str],
    completions_a: Sequence[str],
    completions_b: Sequence[str],
    labeling: str = "better",
    seed: int = 0,
) -> list[dict]:
    r"""Turn two completions per prompt into ``{"prompt", "chosen", "rejected"}`` rows.

    ``"better"``: the completion with the higher true reward is chosen; ties are dropped.
    ``"bt"``: chosen with the Bradley-Terry probability :math:`\sigma(r_a - r_b)` (Eq. 1),
    the noisy human-like labeller the paper assumes; identical texts are dropped. Pairs with an
    empty completion are dropped too (the JSON Lines reader rejects empty text).
    """
    if labeling not in {"better", "bt"}:
        raise ValueError(f"labeling must be 'better' or 'bt', got {labeling!r}")
    rng = random.Random(seed)
    rows = []
    for prompt, a, b in zip(prompts, completions_a, completions_b, strict=True):
        r_a, r_b = reviews.true_reward(prompt + a), reviews.true_reward(prompt + b)
        row = label_pair(prompt, a, b, r_a, r_b, labeling, rng)
        if row is not None:
            rows.append(row)
    return rows


def label_pair(prompt: str, a: str, b: str, r_a: float, r_b: float, labeling: str, rng) -> dict | None:
    r"""The row ``{"prompt", "chosen", "rejected"}`` of completions ``a`` and ``b`` with rewards
    ``r_a`` and ``r_b``, or None when the pair carries no preference (identical or empty
    completions, or a tie under ``"better"``). ``"better"``: the higher reward is chosen; ``"bt"``:
    ``a`` is chosen with the Bradley-Terry probability :math:`\sigma(r_a - r_b)` (Eq. 1), drawn
    from ``rng`` (a ``random.Random``)."""
    if a == b or not a.strip() or not b.strip() or (labeling == "better" and r_a == r_b):
        return None
    a_wins = r_a > r_b if labeling == "better" else rng.random() < float(nd.bt_probability(r_a, r_b))
    chosen, rejected = (a, b) if a_wins else (b, a)
    return {"prompt": prompt, "chosen": chosen, "rejected": rejected}


def sample_preference_pairs(model, tokenizer, prompts: Sequence[str], seed: int, labeling: str = "better"):
    """Two completions per prompt sampled from ``model`` (the SFT reference, as in Sec. 6.1 of
    arXiv:2305.18290), labelled by the true reward (:func:`label_pairs`); returns
    ``{"prompt", "chosen", "rejected"}`` rows."""
    prompt_ids = encode_prompts(tokenizer, prompts)
    a, b = (sample_completions(model, prompt_ids, tokenizer.eos_token_id, seed=seed + k) for k in (0, 1))
    decode = lambda c: tokenizer.batch_decode(c, skip_special_tokens=True)  # noqa: E731
    return label_pairs(prompts, decode(a), decode(b), labeling=labeling, seed=seed)


def write_preference_jsonl(rows: Iterable[dict], path: str | Path) -> Path:
    """Write rows as JSON Lines (UTF-8, one object per line), atomically.

    Every row is checked as :func:`load_preference_jsonl` would check it, then the lines go to a
    temporary file in the same directory that is renamed over ``path`` only once all of them are
    written: an error (or a crash) part-way leaves ``path`` as it was and no temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise ValueError(f"{path} is a directory; pass the path of a .jsonl file to write")
    lines = []
    for index, row in enumerate(rows):
        where = f"{path}, row {index}"
        _check_row(row, where, fix="fix the row before writing it")
        try:
            lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: cannot be written as JSON ({err}); keep only strings, "
                             "numbers, lists and dicts in a row") from None  # fmt: skip
    atomic_write(path, lambda tmp: tmp.write_text("".join(lines), encoding="utf-8"))
    return path


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """``object_pairs_hook`` for ``json.loads``: a key given twice in one object is an error (the
    standard library would silently keep the last value)."""
    row = {}
    for key, value in pairs:
        if key in row:
            raise _DuplicateKey(key)
        row[key] = value
    return row


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON (json.dumps(..., allow_nan=False) never writes it)")


def _lone_surrogate(obj) -> str | None:
    """The first string (key or value) anywhere in ``obj`` that is not encodable as UTF-8 (it holds
    a lone surrogate such as ``"\\ud800"``), or None. Iterative: depth is whatever JSON allowed."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return item
    return None


def _check_row(row, where: str, fix: str = "drop the row or fill in the text") -> None:
    """Raise ``ValueError`` (prefixed by ``where``) unless ``row`` is a preference row."""
    if not isinstance(row, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(row).__name__}")
    for key in REQUIRED_KEYS:
        if key not in row:
            raise ValueError(f"{where}: missing key {key!r}; every row needs {', '.join(REQUIRED_KEYS)}")
        if not isinstance(row[key], str):
            raise ValueError(f"{where}: {key!r} must be a string, got {type(row[key]).__name__}")
        if not row[key].strip():
            raise ValueError(f"{where}: {key!r} is empty; {fix}")
    bad = _lone_surrogate(row)
    if bad is not None:
        raise ValueError(
            f"{where}: the text {bad[:40]!r} holds a lone UTF-16 surrogate (an escape like "
            '"\\ud800" without its pair), which is not a character and cannot be tokenised; '
            "fix the escape or drop the row"
        )
    if row["chosen"] == row["rejected"]:
        raise ValueError(
            f"{where}: 'chosen' and 'rejected' are the same text, so the row states no "
            "preference (its DPO gradient is zero); drop the row"
        )


def _line_of(text: str) -> int:
    """1-based line number of the end of ``text`` (universal newlines, as reading does)."""
    return len(re.split(r"\r\n|\r|\n", text))


def _read_utf8(path: Path) -> str:
    """The file's text, decoded as UTF-8 (a leading BOM is dropped), or a ``ValueError`` that names
    the file, the line and the fix."""
    if not path.exists():
        raise ValueError(f"{path}: no such file; check the path (write it with write_preference_jsonl)")
    if path.is_dir():
        raise ValueError(f"{path} is a directory; pass the path of the .jsonl file inside it")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({err.strerror or err}); check its permissions") from None
    if raw[:2] == b"\x1f\x8b":
        raise ValueError(f"{path} is gzip-compressed; decompress it first (gunzip {path.name})")
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise ValueError(
            f"{path} is UTF-16 (it starts with a UTF-16 byte-order mark); re-encode it as UTF-8, "
            f"e.g. iconv -f UTF-16 -t UTF-8 {path.name}"
        )
    try:
        return raw.decode("utf-8-sig")  # a UTF-8 BOM (Excel, Notepad) is harmless: drop it
    except UnicodeDecodeError as err:
        start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
        line = _line_of(raw[start : err.start].decode("utf-8"))  # valid up to the first bad byte
        raise ValueError(
            f"{path}, line {line}: not UTF-8 (byte {raw[err.start]:#04x} at offset {err.start}); "
            "JSON Lines must be UTF-8: re-encode the file, e.g. iconv -f LATIN1 -t UTF-8 (or from "
            "whatever encoding wrote it)"
        ) from None


def load_preference_jsonl(path: str | Path) -> list[dict]:
    """Read a preference JSON Lines file into a list of dicts.

    The file must be UTF-8 (a leading byte-order mark is accepted). Every non-blank line must be
    a JSON object with non-empty strings ``prompt``, ``chosen`` and ``rejected`` (other keys are
    kept), ``chosen`` different from ``rejected``, no key twice in one object, no lone surrogate
    escapes. A bad file or row raises ``ValueError`` naming the file, the line number (1-based)
    and the fix.
    """
    path = Path(path)
    text = _read_utf8(path)
    rows = []
    for lineno, line in enumerate(io.StringIO(text, newline=None), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {lineno}"
        try:
            row = json.loads(line, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant)
        except _DuplicateKey as err:
            raise ValueError(f"{where}: the key {err.args[0]!r} appears twice in one object (JSON "
                             "readers would silently keep the last one); keep one") from None  # fmt: skip
        except json.JSONDecodeError as err:
            raise ValueError(f"{where}: not valid JSON ({err.msg}); each line must be one "
                             'JSON object like {"prompt": ..., "chosen": ..., "rejected": ...}'
                             ) from None  # fmt: skip
        except ValueError as err:  # NaN / Infinity
            raise ValueError(f"{where}: {err}; write numbers as finite values or strings") from None
        except RecursionError:
            raise ValueError(f"{where}: the JSON is nested too deeply to read; a row is one flat "
                             'object like {"prompt": ..., "chosen": ..., "rejected": ...}'
                             ) from None  # fmt: skip
        _check_row(row, where)
        rows.append(row)
    if not rows:
        raise ValueError(f"{path} holds no preference pairs")
    return rows


def encode_prompts(tokenizer, prompts: Sequence[str]) -> list[list[int]]:
    """Prompt texts -> token ids as the policy sees them: BOS + prompt (as in :func:`tokenize_pairs`
    and :func:`~.preference_data.encode_prompt_completion`; no BOS for a tokenizer without one)."""
    start = [] if tokenizer.bos_token_id is None else [tokenizer.bos_token_id]
    return [start + ids for ids in tokenizer(list(prompts), add_special_tokens=False)["input_ids"]]


def tokenize_pairs(rows: Sequence[dict], tokenizer, max_length: int | None = None) -> list[dict]:
    """Text rows -> the trainer's token format: ``prompt_ids`` = BOS + prompt, ``chosen_ids`` /
    ``rejected_ids`` = completion + EOS (so stopping is part of what is preferred).

    ``max_length`` (e.g. ``max_positions(model)`` from :mod:`dpo_teach.gpt2.logprobs`): raise a
    ``ValueError`` naming the first pair whose prompt + completion is longer (nothing is truncated).
    """
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    for name, value in (("bos_token_id", bos), ("eos_token_id", eos)):
        if value is None:
            raise ValueError(
                f"the tokenizer has no {name}: a prompt starts with BOS and a completion ends with "
                "EOS; set tokenizer.bos_token / tokenizer.eos_token (GPT-2 uses <|endoftext|> for both)"
            )
    pairs = [
        {
            "prompt_ids": [bos] + tokenizer.encode(row["prompt"]),
            "chosen_ids": tokenizer.encode(row["chosen"]) + [eos],
            "rejected_ids": tokenizer.encode(row["rejected"]) + [eos],
        }
        for row in rows
    ]
    if max_length is not None:
        check_pair_lengths(pairs, max_length)
    return pairs
