"""YAML as circuit files use it: read safely, with one-line errors naming the file and line.

PyYAML's safe loader with four changes a user would expect of a configuration format:

- numbers in scientific notation (``1e-3``, ``1E6``, ``1.0e-3``) are floats, as in YAML 1.2 and
  Python (YAML 1.1, which PyYAML follows, reads ``1e-3`` as a string);
- a key written twice in one mapping is refused, naming the key and its line (YAML 1.1 keeps the last);
- a file is at most :data:`MAX_BYTES` of UTF-8 text;
- a document expands to at most :data:`MAX_VALUES` values, so anchors and aliases that multiply
  (the "billion laughs") are refused at once instead of being walked.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from .errors import SpikefaError

MAX_BYTES = 1 << 20  # a circuit file is a few hundred bytes; 1 MiB leaves room for long comments
MAX_VALUES = 10_000  # values in a document, aliases expanded (a circuit has ~100)


class CircuitLoader(yaml.SafeLoader):
    """Safe loading, YAML 1.2 floats, duplicate keys refused."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:  # an unhashable key: the base class says so
                continue
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {show(key)} (first on line {first})", key_node.start_mark
                )
        return super().construct_mapping(node, deep)


CircuitLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: what an error message echoes of a user's value."""
    return cut(repr(value), limit)


def cut(text: str, limit: int = 60) -> str:
    """``text``, cut to ``limit`` characters (with "...")."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def count_values(data: Any, limit: int = MAX_VALUES) -> int:
    """The number of values in ``data`` counted as a walk sees them (a shared sub-document once per
    reference), stopping as soon as it passes ``limit``."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


def parse(text: str, source: str) -> Any:
    """A YAML document, or a :class:`SpikefaError` naming ``source``, the line and the problem."""
    try:
        data = yaml.load(text, Loader=CircuitLoader)  # noqa: S506 - CircuitLoader is a SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise SpikefaError(f"{source}: malformed YAML{where}: {cut(str(problem), 120)}") from None
    if count_values(data) > MAX_VALUES:
        raise SpikefaError(
            f"{source}: more than {MAX_VALUES} values once its anchors and aliases are expanded; "
            "a circuit file needs far fewer"
        )
    return data


def read(path: str | Path) -> Any:
    """Read a YAML file: at most :data:`MAX_BYTES` of UTF-8 text."""
    path = Path(path)
    if path.is_dir():
        raise SpikefaError(f"{path}: is a folder, not a circuit file")
    if not path.is_file():
        raise SpikefaError(f"{path}: no such circuit file")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except OSError as err:
        raise SpikefaError(f"{path}: cannot be read ({err.strerror})") from None
    if len(data) > MAX_BYTES:
        raise SpikefaError(f"{path}: larger than {MAX_BYTES // 1024} KiB; a circuit file is a few hundred bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise SpikefaError(
            f"{path}: not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); save it as UTF-8"
        ) from None
    return parse(text, str(path))


def parse_value(text: str, source: str) -> Any:
    """A command-line value (``--set``, ``--grid``; ``source`` names it in errors) read as YAML, or the
    text itself if it is not YAML."""
    try:
        return parse(text, source)
    except SpikefaError as err:
        if "malformed YAML" in str(err):
            return text
        raise
