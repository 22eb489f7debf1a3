"""Answers as plain data: the values a check receives and returns, written as JSON text.

The grader and the student's kernel exchange values (a number, an array, a tensor, a tuple of
them, a function left in the kernel) through this codec only. Its decoder builds nothing but
numbers, strings, tuples, lists, NumPy arrays (``.npy`` bytes read with ``allow_pickle=False``)
and torch tensors made from them, so text from a student's kernel cannot run code in the grader.
Anything else becomes an :class:`Opaque` stand-in that carries the type's name (a check then says
"expected a number, got a Foo").

The grader also sends this file's source into each kernel (``kernel_helper``): both sides use the
same two functions, ``encode`` and ``decode``. It imports only the standard library at the top.
"""

import base64
import io
import json
import sys

MAX_ITEMS = 10_000  # items kept from a list or tuple (a longer one is cut)


class Opaque:
    """A value that is not plain data (a class instance, a module, ...): its type name and repr."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __repr__(self) -> str:
        return self.text


def _npy(array) -> str:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _from_npy(text: str):
    import numpy as np

    return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)


def _tree(value, functions: list):
    """``value`` as JSON-able data; callables are appended to ``functions`` and named by index."""
    from decimal import Decimal
    from fractions import Fraction

    np = sys.modules.get("numpy")
    torch = sys.modules.get("torch")
    if value is None or value is Ellipsis:
        return {"t": "none" if value is None else "ellipsis"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if type(value) in (int, float, complex, str):
        return {"t": type(value).__name__, "v": repr(value) if type(value) is not str else value[:10_000]}
    if type(value) in (Fraction, Decimal):
        return {"t": type(value).__name__, "v": str(value)}
    if np is not None and isinstance(value, (np.ndarray, np.generic)):
        if value.dtype.kind == "O":  # e.g. an array of Fractions: item by item
            return {"t": "objects", "shape": list(value.shape), "v": [_tree(v, functions) for v in value.flat]}
        return {"t": "np", "v": _npy(value), "scalar": isinstance(value, np.generic)}
    if torch is not None and isinstance(value, torch.Tensor):
        tensor = value.detach().cpu()
        dtype = str(tensor.dtype).removeprefix("torch.")
        data = tensor.float() if dtype == "bfloat16" else tensor
        return {"t": "tensor", "dtype": dtype, "v": _npy(data.numpy())}
    if type(value) in (tuple, list):
        return {"t": type(value).__name__, "v": [_tree(v, functions) for v in value[:MAX_ITEMS]]}
    if callable(value):
        functions.append(value)
        return {"t": "function", "i": len(functions) - 1, "name": getattr(value, "__name__", "?")}
    text = repr(value) if type(value).__repr__ is not object.__repr__ else f"<{type(value).__name__}>"
    return {"t": "opaque", "type": type(value).__name__, "v": text[:200]}


def encode(value, functions=None) -> str:
    """JSON text of ``value``; callables go into ``functions`` (a list) and travel as indices."""
    return json.dumps(_tree(value, [] if functions is None else functions))


def _value(node, functions):
    kind, v = node["t"], node.get("v")
    if kind in ("none", "ellipsis"):
        return None if kind == "none" else Ellipsis
    if kind == "bool":
        return bool(v)
    if kind in ("int", "float", "complex"):
        return {"int": int, "float": float, "complex": complex}[kind](str(v).strip("()"))
    if kind == "str":
        return str(v)
    if kind in ("Fraction", "Decimal"):
        from decimal import Decimal
        from fractions import Fraction

        return (Fraction if kind == "Fraction" else Decimal)(str(v))
    if kind == "np":
        array = _from_npy(v)
        return array[()] if node.get("scalar") else array
    if kind == "objects":
        import numpy as np

        out = np.empty(len(v), dtype=object)
        out[:] = [_value(x, functions) for x in v]
        return out.reshape(node["shape"])
    if kind == "tensor":
        import torch

        dtype = getattr(torch, str(node["dtype"]), None)
        if not isinstance(dtype, torch.dtype):
            raise ValueError(f"not a torch dtype: {node['dtype']!r}")
        return torch.from_numpy(_from_npy(v).copy()).to(dtype)
    if kind in ("tuple", "list"):
        items = [_value(x, functions) for x in v]
        return tuple(items) if kind == "tuple" else items
    if kind == "function":
        return functions(int(node["i"]), str(node.get("name", "?")))
    return Opaque(str(node.get("type", "object")), str(v))


def decode(text: str, functions=lambda index, name: Opaque("function", name)):
    """The value ``encode`` wrote; ``functions(index, name)`` stands in for each callable."""
    return _value(json.loads(text), functions)
