"""Each mapping of a circuit file checked against its block's JSON Schema by the ``jsonschema`` library.

The schema is :func:`spikefa.schema.entry_schema`, made from the same declarations as the JSON Schema
editors use (``spikefa schema``), so what an editor flags and what validation refuses are one thing.
A mapping is checked when :mod:`spikefa.spec` reads it, its own fields alone (the blocks inside it are
checked as they are read), and the first error becomes one line naming the field and what is allowed.
What depends on other fields stays in :mod:`spikefa.spec`.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, ValidationError

from . import schema as S
from .errors import SpikefaError
from .yamlfile import cut, show


def _finite_number(checker: Any, value: Any) -> bool:
    """YAML's ``.nan`` and ``.inf`` are numbers to JSON Schema, and no number of a circuit."""
    return Draft202012Validator.TYPE_CHECKER.is_type(value, "number") and math.isfinite(value)


Validator = jsonschema.validators.extend(
    Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine("number", _finite_number)
)
_VALIDATORS: dict[str, Any] = {}  # by block path
KINDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
}
UNITS = {"time": (S.TIME_UNITS, "'1 ms'"), "rate": (S.RATE_UNITS, "'200 Hz'")}


def check(block: S.Block, raw: Any, path: str, source: str) -> None:
    """Raise :class:`SpikefaError` (``source: path.field: what is wrong``) at the first of ``raw``'s
    fields that ``block`` refuses; ``raw`` is one mapping of that block, as written (None: empty)."""
    moved = [(key, note) for key, note in block.moved if isinstance(raw, dict) and key in raw]
    if moved:
        where, message = [moved[0][0]], moved[0][1]
    else:
        if block.path not in _VALIDATORS:
            _VALIDATORS[block.path] = Validator(S.entry_schema(block))
        instance = _as_json({} if raw is None else raw)
        error = next(_VALIDATORS[block.path].iter_errors(instance), None)
        if error is None:
            return
        where, message = _explain(_chosen(error), block, instance)
    name = ".".join([path] * bool(path) + [cut(k) for k in where]) or "circuit"
    raise SpikefaError(f"{source}: {name}: {message}")


def quantity_message(field: S.Field, value: Any) -> str:
    """What a time or rate field takes (``field.low == 0``: zero too), and the value it got."""
    units, example = UNITS[field.kind]
    sign = "non-negative" if field.low == 0 else "positive"
    return f"must be a {sign} {field.kind} with a unit ({', '.join(units)}), e.g. {example}; got {show(value)}"


def _as_json(value: Any) -> Any:
    """A YAML value as JSON holds it: mapping keys as text (a layer's number), tuples as lists."""
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    return value


def _chosen(error: ValidationError) -> ValidationError:
    """Of a value that fits none of a field's forms (``anyOf``), the error of the form it was meant as:
    the first whose type it has, else the declared one (the first)."""
    while error.validator == "anyOf" and error.context:
        forms: dict[int, list[ValidationError]] = {}
        for e in error.context:
            forms.setdefault(e.relative_schema_path[0], []).append(e)
        typed = [n for n in sorted(forms) if not any(e.validator == "type" and not e.relative_path for e in forms[n])]
        error = forms[(typed or sorted(forms))[0]][0]
    return error


def _explain(error: ValidationError, block: S.Block, instance: Any) -> tuple[list[str], str]:
    """(the field's path inside the block, what is wrong with it)."""
    path = list(error.absolute_path)
    keys = [str(k) for k in path[: next((i for i, k in enumerate(path) if isinstance(k, int)), len(path))]]
    field = next((f for f in block.fields if keys and f.key == keys[0]), None)
    value, kind = error.instance, error.validator
    if kind == "required":
        missing = next(k for k in error.validator_value if k not in value)
        choices = block[missing].choices if not keys else ()
        return [*keys, missing], "missing" + (f"; allowed: {', '.join(choices)}" if choices else "")
    if kind == "additionalProperties":
        known, patterns = error.schema.get("properties", {}), error.schema.get("patternProperties", {})
        extra = sorted(k for k in value if k not in known and not any(re.search(p, k) for p in patterns))[0]
        close = difflib.get_close_matches(extra, list(known), n=1)
        allowed = ", ".join(known)
        if len(allowed) > 120:  # a long block: its reference, not a line cut in the middle
            allowed = f"the {len(known)} fields of {block.path or 'a circuit file'} in the circuit-file reference"
        return [*keys, extra], f"unknown field; allowed: {allowed}" + (f" (did you mean {close[0]}?)" if close else "")
    if field is not None and field.kind in UNITS:
        return keys[:1], quantity_message(field, value)
    if field is not None and field.kind == "integers":
        got = show(instance[field.key])
        return keys[:1], f"must be a list of at least {field.min_items} positive integers, got {got}"
    if kind == "type":
        expected = error.validator_value
        if expected in ("number", "integer") and _not_finite(value):
            return keys, f"must be a finite number, got {value if isinstance(value, float) else show(value)}"
        return keys, f"must be {KINDS[expected]}, got {show(value)}"
    if kind == "enum":
        return keys, f"unknown value {show(value)}; allowed: {', '.join(map(str, error.validator_value))}"
    bounds = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    if kind in bounds:  # a number field's value as it reads (0 → 0.0)
        value = float(value) if field is not None and field.kind == "number" else value
        return keys, f"must be {bounds[kind]} {error.validator_value}, got {show(value)}"
    if kind == "maxLength":
        return keys, f"must be at most {error.validator_value} characters, got {len(value)}"
    return keys, cut(error.message, 200)


def _not_finite(value: Any) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    return isinstance(value, str) and value.strip().lower().lstrip("+-") in ("nan", "inf", "infinity")
