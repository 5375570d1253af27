"""Unit non-linearities f and their derivatives f', written in terms of (a, h = f(a)) to avoid recomputation;
and a user's own, written as Brian2 expressions of ``v`` (``network.hidden: {rate: …, slope: …}``), which
Brian2 evaluates in a rate circuit and NumPy here, so that the reference engine computes them too."""

from __future__ import annotations

import ast
from collections.abc import Callable

import numpy as np


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))  # overflow-free logistic


def _softmax(a: np.ndarray) -> np.ndarray:
    e = np.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


FORWARD: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "relu": lambda a: np.maximum(a, 0),
    "linear": lambda a: a,
    "softmax": _softmax,
}

DERIVATIVE: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray | float]] = {
    "tanh": lambda a, h: 1.0 - h * h,
    "sigmoid": lambda a, h: h * (1.0 - h),
    "relu": lambda a, h: (a > 0).astype(a.dtype),
    "linear": lambda a, h: 1.0,
}

# the functions Brian2's expressions know, as NumPy writes them (``int`` turns a comparison into 0 or 1)
CODE_FUNCTIONS = {
    **{f: getattr(np, f) for f in ("exp", "log", "log10", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh")},
    **{f: getattr(np, f) for f in ("arcsin", "arccos", "arctan", "abs", "sign", "ceil", "floor", "clip")},
    "int": lambda x: np.asarray(x, dtype=float),
}


# the syntax a Brian2 expression may use: numbers, v, arithmetic, comparisons, and/or/not, function calls
_NODES = (
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call,
    ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)  # fmt: skip


def parse(expression: str) -> ast.Expression:
    """A Brian2 expression of ``v`` as a syntax tree, refused (ValueError) unless it uses only numbers,
    ``v``, operators and :data:`CODE_FUNCTIONS` — so reading a circuit file never runs other code (a
    text such as ``().__class__`` is refused, not evaluated). Numbers become floats."""
    tree = ast.parse(expression, "<expression>", mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise ValueError(f"{type(node).__name__} is not allowed in an expression of v")
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
                raise ValueError(f"the constant {node.value!r} is not a number")
            node.value = float(node.value)  # float arithmetic: 9**9**9 overflows at once instead of running on
        if isinstance(node, ast.Name) and node.id != "v" and node.id not in CODE_FUNCTIONS:
            raise ValueError(f"unknown name {node.id!r}; allowed: v, {', '.join(CODE_FUNCTIONS)}")
        if isinstance(node, ast.Call) and (not isinstance(node.func, ast.Name) or node.keywords):
            raise ValueError("only calls of the listed functions, without keywords, are allowed")
    return tree


def evaluate(expression: str, v: np.ndarray) -> np.ndarray:
    """A Brian2 expression of ``v`` evaluated by NumPy (checked by :func:`parse`: only ``v``, numbers,
    operators and Brian2's functions)."""
    code = compile(parse(expression), "<expression>", "eval")
    with np.errstate(all="ignore"):  # a NaN or inf is for the caller to judge
        out = eval(code, {"__builtins__": {}}, {**CODE_FUNCTIONS, "v": v})
    return np.broadcast_to(np.asarray(out, dtype=v.dtype), v.shape).copy()


def from_code(rate: str, slope: str) -> tuple[Callable, Callable]:
    """(f, f') of a user's rate function and its slope, written as expressions of v."""
    return (lambda a: evaluate(rate, a)), (lambda a, h: evaluate(slope, a))


def check_code(rate: str, slope: str) -> str | None:
    """What is wrong with a user's (rate, slope), or None: each must evaluate to finite numbers on
    v ∈ [−4, 4], and slope must be rate's derivative (central differences, away from kinks)."""
    v = np.linspace(-4, 4, 801)
    values = {}
    for name, code in (("rate", rate), ("slope", slope)):
        try:
            values[name] = evaluate(code, v)
        except Exception as err:  # the user's expression: a NameError, a SyntaxError, ...
            return f"{name}: cannot evaluate it ({type(err).__name__}: {err}): {code!r}"
        if not np.all(np.isfinite(values[name])):
            return f"{name}: {code!r} is not finite for every v in [-4, 4]"
    h = 1e-5
    f = lambda x: evaluate(rate, x)  # noqa: E731
    left, right = (f(v) - f(v - h)) / h, (f(v + h) - f(v)) / h
    smooth = np.abs(left - right) < 1e-3  # away from a kink (relu's at 0), where either slope will do
    wrong = smooth & ~np.isclose(values["slope"], (left + right) / 2, rtol=1e-3, atol=1e-4)
    if np.any(wrong):
        k = np.argmax(wrong)
        return (
            f"slope: is not the derivative of rate (at v = {v[k]:.2f} it is {values['slope'][k]:.4g}, "
            f"rate's is {(left[k] + right[k]) / 2:.4g})"
        )
    return None


def functions(hidden) -> tuple[Callable, Callable]:
    """(f, f') of a hidden activation: a name, or a :class:`~spikefa.spec.Activation` (code)."""
    if isinstance(hidden, str):
        return FORWARD[hidden], DERIVATIVE[hidden]
    return from_code(hidden.rate, hidden.slope)
