r"""An existing preference dataset -> the trainer's token pairs, in any of TRL's three formats.

=====================  =========================================================================
format                 a row
=====================  =========================================================================
``standard``           ``{"prompt": "The sky is", "chosen": " blue.", "rejected": " green."}``
``conversational``     the same keys holding message lists (``[{"role": ..., "content": ...}]``),
                       rendered to text with the tokenizer's chat template
``implicit``           only ``chosen`` / ``rejected`` (strings or message lists): their shared
                       beginning is the prompt
=====================  =========================================================================

**Tokenisation.** Prompt and completion are tokenised *separately* and concatenated, so the
prompt's ids are an exact prefix of the pair's ids. Tokenising ``prompt + completion`` as one
string instead lets BPE merge across the boundary (``"The film was "`` + ``"great"``: the space
ends the prompt alone but joins ``"Ġgreat"`` in the whole), and the log-probs would then be
summed over tokens that start inside the prompt. Standard rows get BOS + prompt and completion +
EOS, exactly as :func:`dpo_teach.gpt2.data.tokenize_pairs`; conversational rows carry whatever
special tokens the chat template writes (no extra BOS or EOS, as in TRL).

**Implicit prompt.** Strings: the prompt is the longest shared prefix, cut back to the start of
its last whitespace run, so no word is split (``"The film was great"`` / ``"The film was grim"``
-> ``"The film was"``, ``" great"``, ``" grim"``; TRL cuts at the character, ``"...was gr"``).
Message lists: the shared leading messages.

**Truncation** (``max_length``, TRL's ``keep_start``): prompt + completion is cut to its first
``max_length`` tokens (a cut completion loses its EOS). Rows are dropped, and counted per reason
in :attr:`PreferenceData.dropped`, when chosen and rejected are the same text, a completion is
empty, the prompt alone fills ``max_length`` (no completion token would be left), or the two
completions become identical once cut, and (``dedupe``, as the fine-tune reads a dataset) when the
pair's tokens equal an earlier row's. Malformed rows (missing keys, wrong types) are errors; rows
that parse but look misread (a column no format reads, a prompt repeated inside the completions)
are kept and named in :attr:`PreferenceData.warnings`.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Sequence

__all__ = ["FORMATS", "PreferenceData", "detect_format", "split_implicit_prompt", "render_conversation",
           "encode_prompt_completion", "shape_warnings", "tokenize_preferences",
           "load_preference_data"]  # fmt: skip

FORMATS = ("standard", "conversational", "implicit", "conversational_implicit")
DROP_REASONS = {
    "same_text": "chosen and rejected are the same text",
    "empty_completion": "a completion is empty",
    "empty_prompt": "the prompt is empty and the tokenizer has no BOS token to start it",
    "prompt_too_long": "the prompt alone fills max_length, so no completion token is left",
    "same_after_truncation": "chosen and rejected are identical after truncation",
    "duplicate": "the same pair (prompt, chosen, rejected tokens) as an earlier row",
}


@dataclasses.dataclass
class PreferenceData:
    """Token pairs ``{"prompt_ids", "chosen_ids", "rejected_ids"}`` ready for ``DPOTrainer``, the
    prompt text of each pair (rendered, for conversational rows), and what happened to the rows."""

    pairs: list[dict]
    prompts: list[str]
    format: str
    n_rows: int  # rows read
    n_truncated: int  # pairs kept with at least one sequence cut to max_length
    dropped: dict[str, int]  # reason (a key of DROP_REASONS) -> rows dropped
    rows: list[int] = dataclasses.field(default_factory=list)  # the row (0-based) each pair came from
    warnings: list[str] = dataclasses.field(default_factory=list)  # read, but perhaps not as meant

    def summary(self) -> str:
        """One line: rows read, pairs kept, and every drop with its reason."""
        parts = [f"{self.n_rows} rows ({self.format} format) -> {len(self.pairs)} pairs"]
        if self.n_truncated:
            parts.append(f"{self.n_truncated} truncated to max_length (keep start)")
        parts += [f"{n} dropped: {DROP_REASONS[k]}" for k, n in self.dropped.items() if n]
        return "; ".join(parts)


def _is_messages(value) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(m, dict) and "role" in m and "content" in m for m in value)
    )


def detect_format(rows: Sequence[dict]) -> str:
    """The TRL format of ``rows`` (one of :data:`FORMATS`), read from the first row and checked on
    every row: a row of another shape raises ``ValueError`` naming it and the fix."""
    if not rows:
        raise ValueError("no rows to read; pass a dataset with at least one preference row")
    first = rows[0]
    keys = set(first) if isinstance(first, dict) else set()
    if not {"chosen", "rejected"} <= keys:
        raise ValueError(f"row 0 has the columns {sorted(keys)}; a preference dataset needs 'chosen' and "
                         "'rejected' (and 'prompt', unless it is implicit in both), as TRL's DPOTrainer "
                         "does; rename the columns")  # fmt: skip
    conversational = _is_messages(first["chosen"])
    fmt = ("conversational" if conversational else "standard") if "prompt" in keys else (
        "conversational_implicit" if conversational else "implicit")  # fmt: skip
    want = "a list of {'role', 'content'} messages" if conversational else "a string"
    for i, row in enumerate(rows):
        for key in ("prompt", "chosen", "rejected") if "prompt" in keys else ("chosen", "rejected"):
            value = row.get(key) if isinstance(row, dict) else None
            ok = _is_messages(value) if conversational else isinstance(value, str)
            if not ok:
                raise ValueError(
                    f"row {i}: {key!r} must be {want} like row 0 ({fmt} format), got "
                    f"{type(value).__name__} {str(value)[:60]!r}; fix or drop the row"
                )
    return fmt


def split_implicit_prompt(chosen, rejected):
    """``(prompt, chosen_rest, rejected_rest)``: the shared beginning of two strings, cut back to the
    start of its last whitespace run (a word boundary), or the shared leading messages of two
    message lists."""
    n = 0
    while n < min(len(chosen), len(rejected)) and chosen[n] == rejected[n]:
        n += 1
    if isinstance(chosen, str):  # back off to a word boundary: the space starts the completion
        ws = [i for i in range(n) if chosen[i].isspace()]
        n = ws[-1] if ws else 0
        while n > 0 and chosen[n - 1].isspace():
            n -= 1
    return chosen[:n], chosen[n:], rejected[n:]


def render_conversation(tokenizer, prompt: list[dict], completion: list[dict]) -> tuple[str, str]:
    """``(prompt_text, completion_text)`` rendered with the chat template: the prompt with the
    generation prompt (the assistant's header), the completion as what the whole conversation adds."""
    if getattr(tokenizer, "chat_template", None) is None:
        raise ValueError(
            "the tokenizer has no chat template, so conversational rows (message lists) cannot be "
            "rendered as text; use the tokenizer of a chat/instruct model, set tokenizer.chat_template, "
            "or convert the rows to the standard format (prompt/chosen/rejected strings)"
        )
    prompt_text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(list(prompt) + list(completion), tokenize=False)
    if not full.startswith(prompt_text):
        raise ValueError(
            "the chat template renders the prompt differently alone (with the generation prompt) than "
            f"inside the whole conversation ({prompt_text[-40:]!r} is not a prefix of the rendered "
            "conversation), so the completion has no clean start; use a template that renders a prefix "
            "of the conversation identically, or convert the rows to the standard format"
        )
    return prompt_text, full[len(prompt_text) :]


def encode_prompt_completion(tokenizer, prompt: str, completion: str, templated: bool = False):
    """``(prompt_ids, completion_ids)``, each string tokenised on its own (no BPE merge across the
    boundary). Plain text: BOS + prompt (when the tokenizer has a BOS) and completion + EOS (a
    trailing EOS string is not doubled); ``templated``: the ids of the rendered text only."""
    encode = lambda text: tokenizer.encode(text, add_special_tokens=False) if text else []  # noqa: E731
    if templated:
        return encode(prompt), encode(completion)
    bos, eos = tokenizer.bos_token_id, tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no EOS token, which ends every completion; set "
                         "tokenizer.eos_token (GPT-2: <|endoftext|>)")  # fmt: skip
    completion = completion.removesuffix(tokenizer.eos_token)
    return ([bos] if bos is not None else []) + encode(prompt), encode(completion) + [eos]


def _as_texts(row: dict, fmt: str, tokenizer):
    """``(prompt_text, chosen_text, rejected_text, templated)`` of one row, or a drop reason."""
    prompt, chosen, rejected = row.get("prompt"), row["chosen"], row["rejected"]
    if chosen == rejected:
        return "same_text"
    if fmt in ("implicit", "conversational_implicit"):
        prompt, chosen, rejected = split_implicit_prompt(chosen, rejected)
    if not chosen or not rejected or (isinstance(chosen, str) and not (chosen.strip() and rejected.strip())):
        return "empty_completion"
    if fmt in ("standard", "implicit"):
        if not prompt and tokenizer.bos_token_id is None:
            return "empty_prompt"
        return prompt, chosen, rejected, False
    if not prompt:
        return "empty_prompt"  # no shared leading message: nothing to condition on
    prompt_text, chosen_text = render_conversation(tokenizer, prompt, chosen)
    _, rejected_text = render_conversation(tokenizer, prompt, rejected)
    return prompt_text, chosen_text, rejected_text, True


def shape_warnings(rows: Sequence[dict], fmt: str) -> list[str]:
    """What in ``rows`` was read but perhaps not as meant: columns no format reads (a prompt under
    another name, e.g. ``question``), and standard rows whose completions repeat their prompt."""
    used = {"chosen", "rejected"} | ({"prompt"} if fmt in ("standard", "conversational") else set())
    unused = sorted({str(k) for row in rows for k in row} - used)
    found = []
    if unused:
        found.append(f"column(s) {', '.join(map(repr, unused))} are not read: the {fmt} format reads "
                     f"{', '.join(sorted(used))}; if one of them holds the prompt, rename it "
                     "'prompt'")  # fmt: skip
    if fmt == "standard":
        repeated = [i for i, r in enumerate(rows) if r["prompt"].strip() and all(
            r[k].lstrip().startswith(r["prompt"].strip()) for k in ("chosen", "rejected"))]  # fmt: skip
        if repeated:
            found.append(f"{len(repeated)} of {len(rows)} rows repeat their prompt at the start of chosen "
                         f"and rejected (row {repeated[0]} first), so the prompt is read twice; the standard "
                         "format's chosen/rejected hold only the completion: strip the prompt from them, "
                         "or drop the 'prompt' column (implicit format)")  # fmt: skip
    return found


def tokenize_preferences(rows: Sequence[dict], tokenizer, max_length: int | None = None,
                         dedupe: bool = False) -> PreferenceData:  # fmt: skip
    """Rows in any TRL format (:func:`detect_format`) -> :class:`PreferenceData` (see the module
    docstring for the tokenisation, truncation and drop policy). ``dedupe``: drop a pair whose
    tokens equal an earlier one's (counted as ``duplicate``), so a split cannot hold it twice."""
    if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                   or max_length < 2):  # fmt: skip
        raise ValueError(f"max_length must be None or an integer >= 2 (a prompt token and a completion "
                         f"token), got {max_length!r}")  # fmt: skip
    fmt = detect_format(rows)
    pairs, prompts, dropped, n_truncated, kept, seen = [], [], Counter(), 0, [], set()
    for index, row in enumerate(rows):
        texts = _as_texts(row, fmt, tokenizer)
        if isinstance(texts, str):
            dropped[texts] += 1
            continue
        prompt, chosen, rejected, templated = texts
        prompt_ids, chosen_ids = encode_prompt_completion(tokenizer, prompt, chosen, templated)
        rejected_ids = encode_prompt_completion(tokenizer, prompt, rejected, templated)[1]
        if max_length is not None:
            room = max_length - len(prompt_ids)  # completion tokens that still fit (keep start)
            if room < 1:
                dropped["prompt_too_long"] += 1
                continue
            if len(chosen_ids) > room or len(rejected_ids) > room:
                n_truncated += 1
                chosen_ids, rejected_ids = chosen_ids[:room], rejected_ids[:room]
                if chosen_ids == rejected_ids:
                    dropped["same_after_truncation"] += 1
                    continue
        key = (tuple(prompt_ids), tuple(chosen_ids), tuple(rejected_ids))
        if dedupe and key in seen:
            dropped["duplicate"] += 1
            continue
        seen.add(key)
        pairs.append({"prompt_ids": prompt_ids, "chosen_ids": chosen_ids, "rejected_ids": rejected_ids})
        prompts.append(prompt)
        kept.append(index)
    return PreferenceData(pairs, prompts, fmt, len(rows), n_truncated,
                          {k: dropped[k] for k in DROP_REASONS if dropped[k]}, kept,
                          shape_warnings(rows, fmt))  # fmt: skip


def load_preference_data(
    source,
    tokenizer,
    split: str = "train",
    config: str | None = None,
    max_length: int | None = None,
    max_rows: int | None = None,
) -> PreferenceData:
    """Read ``source`` (a hub name, a ``save_to_disk`` directory, a JSON / JSONL / Parquet file;
    :func:`dpo_teach.gpt2.hub.sources.load_rows`) and tokenise it (:func:`tokenize_preferences`,
    duplicate pairs dropped). Raises ``ValueError`` when no pair is left, naming why the rows
    were dropped."""
    from .sources import load_rows

    rows = load_rows(source, split, config, max_rows)
    data = tokenize_preferences(rows, tokenizer, max_length, dedupe=True)
    if not data.pairs:
        raise ValueError(f"{source}: no preference pair is left ({data.summary()}); fix the data or "
                         "raise --max-length")  # fmt: skip
    return data
