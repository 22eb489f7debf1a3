"""Rows of a dataset from wherever it lives: a hub name, a ``save_to_disk`` directory, or a file.

The real-world inputs of the fine-tune (prompts, preference data) come as Hugging Face datasets
or as local files. :func:`load_rows` turns any of them into a list of plain dicts, one per row:

==========================================  ==================================================
source                                      read with
==========================================  ==================================================
``data.jsonl`` / ``data.json``              the standard library (JSON Lines, or one JSON array)
``data.parquet``                            ``pyarrow.parquet``
``notes.txt``                               one row ``{"text": line}`` per non-blank line
a directory written by ``save_to_disk``     ``datasets.load_from_disk`` (a ``DatasetDict``: ``split``)
another directory (e.g. a cloned hub repo)  ``datasets.load_dataset(directory, split=split)``
a hub name such as ``stanfordnlp/imdb``     ``datasets.load_dataset(name, config, split=split)``
==========================================  ==================================================

``datasets`` (and ``pyarrow``) are imported only when a source needs them. Every failure is a
``ValueError`` naming the source and the fix: a file names no split (it has none), a ``.json`` file
is one array of rows (not one object of columns), and no dataset's own code is ever run.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["FILE_SUFFIXES", "load_rows"]

FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".txt")  # local files read without `datasets`


def _datasets():
    try:
        import datasets
    except ImportError:
        raise ValueError(
            "reading a hub dataset or a save_to_disk directory needs the `datasets` library; "
            "pip install datasets (or pass a .jsonl / .json / .parquet file)"
        ) from None
    return datasets


def _json_rows(path: Path) -> list:
    """A JSON array of objects, or JSON Lines (one object per non-blank line)."""
    text = path.read_text(encoding="utf-8-sig")
    shape = ("write one JSON array of row objects ([{\"prompt\": ..., ...}, ...]) or JSON Lines (one "
             "object per line)")  # fmt: skip
    if path.suffix == ".json" and text.lstrip().startswith(("[", "{")):
        try:
            whole = json.loads(text)
        except RecursionError:
            raise ValueError(f"{path}: JSON nested too deeply to read; {shape}") from None
        except json.JSONDecodeError as err:
            if text.lstrip().startswith("["):
                raise ValueError(f"{path}: not valid JSON ({err}); {shape}") from None
            whole = None  # perhaps JSON Lines saved as .json: read line by line below
        if isinstance(whole, list):
            return whole
        if isinstance(whole, dict):  # one object: a dict of columns (pandas' to_json) or a single row
            columns = ", ".join(repr(k) for k in list(whole)[:5])
            raise ValueError(f"{path} holds one JSON object (keys {columns}), not rows; {shape}")
    rows = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except RecursionError:
                raise ValueError(f"{path}, line {lineno}: JSON nested too deeply to read; JSON Lines "
                                 "hold one flat JSON object per line") from None  # fmt: skip
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}, line {lineno}: not valid JSON ({err.msg}); JSON Lines "
                                 "hold one JSON object per line") from None  # fmt: skip
    return rows


def _file_rows(path: Path) -> list:
    suffix = path.suffix.lower()
    try:
        if suffix in (".jsonl", ".json"):
            return _json_rows(path)
        if suffix == ".txt":
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            return [{"text": line.strip()} for line in lines if line.strip()]
        if suffix == ".parquet":
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise ValueError(f"{path}: reading Parquet needs pyarrow; pip install pyarrow") from None
            return pq.read_table(path).to_pylist()
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 ({err.reason} at byte {err.start}); re-encode it as "
                         "UTF-8") from None  # fmt: skip
    except OSError as err:
        raise ValueError(f"{path}: cannot be read ({type(err).__name__}: {err}); check the file") from None
    raise ValueError(f"{path}: unknown file type {suffix!r}; pass a {', '.join(FILE_SUFFIXES)} file, "
                     "a save_to_disk directory or a hub dataset name")  # fmt: skip


def _pick_split(data, split: str, where: str):
    """A ``Dataset`` from ``data``: itself, or its ``split`` if it is a ``DatasetDict`` (a dict)."""
    if isinstance(data, dict):
        if split not in data:
            raise ValueError(f"{where} has no split {split!r}; it has {', '.join(sorted(data))}: pass "
                             "one of them as the split")  # fmt: skip
        return data[split]
    return data


def load_rows(
    source, split: str = "train", config: str | None = None, max_rows: int | None = None
) -> list[dict]:
    """The rows of ``source`` (see the module docstring) as plain dicts, at most ``max_rows`` of them
    (the first ones; None: all). ``split`` picks the split of a ``DatasetDict`` or hub dataset,
    ``config`` the hub dataset's configuration (e.g. ``standard_preference``)."""
    if max_rows is not None and (not isinstance(max_rows, int) or isinstance(max_rows, bool) or max_rows < 1):
        raise ValueError(f"max_rows must be None or an integer >= 1, got {max_rows!r}")
    text = str(source)
    path = Path(text).expanduser()
    if path.is_symlink() and not path.exists():
        raise ValueError(f"{path} is a symbolic link that leads nowhere (a loop, or its target is missing); "
                         "point it at the data file or pass the file itself")  # fmt: skip
    looks_local = (
        path.exists() or path.is_absolute() or text.startswith((".", "~")) or path.suffix in FILE_SUFFIXES
    )
    if looks_local and not path.exists():
        raise ValueError(f"{path}: no such file or directory; check the path (or pass a hub dataset "
                         "name such as stanfordnlp/imdb)")  # fmt: skip
    if path.is_file():
        if split not in (None, "train"):  # a file has no splits: its rows are all there is
            raise ValueError(f"{path} is one file, which has no split {split!r}; drop the split (the "
                             "fine-tune then holds out a seeded share of the rows), or pass a hub "
                             "dataset or save_to_disk directory that has that split")  # fmt: skip
        rows = _file_rows(path)
    else:
        datasets = _datasets()
        where = str(path) if looks_local else f"the hub dataset {text!r}"
        try:
            if looks_local and any((path / n).is_file() for n in ("dataset_dict.json", "state.json")):
                data = _pick_split(datasets.load_from_disk(str(path)), split, where)
            else:
                data = datasets.load_dataset(str(path) if looks_local else text, config, split=split,
                                             trust_remote_code=False)  # fmt: skip  (never run its script)
        except ValueError as err:
            if "has no split" in str(err):
                raise
            raise ValueError(f"could not load {where} ({type(err).__name__}: {str(err)[:300]}); check "
                             "the name, config and split") from None  # fmt: skip
        except Exception as err:  # offline, no such repo, a config to choose, a corrupt cache ...
            first = (str(err).strip().splitlines() or [""])[0][:300]
            raise ValueError(
                f"could not load {where} ({type(err).__name__}: {first}); check the name (and "
                "--dataset-config / split), that the hub is reachable (HF_HUB_OFFLINE unset), or "
                "pass a local save_to_disk directory or a .jsonl / .parquet file"
            ) from None
        if max_rows is not None:
            data = data.select(range(min(max_rows, len(data))))
        rows = data.to_list()
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"{source}: every row must be an object (a dict of columns); fix the file")
    if not rows:
        raise ValueError(f"{source} holds no rows; pass a dataset with at least one")
    return rows[:max_rows] if max_rows is not None else rows
