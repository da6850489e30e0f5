"""YAML reading for parameter files: safe, strict and without YAML 1.1 surprises.

PyYAML implements YAML 1.1, where ``1e-5`` is a *string* (a float needs a dot) and ``no``, ``yes``,
``on``, ``off`` are booleans (so Norwegian, ``no``, silently becomes ``False``). This loader follows
YAML 1.2's core schema instead: only ``true``/``false`` are booleans, ``1e-5`` is a float, and
dates stay strings. Where a boolean is expected, the typed models still accept ``yes``/``no``.
Duplicate keys are an error (PyYAML silently keeps the last one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

KeyPath = tuple[str | int, ...]


class YamlError(ValueError):
    def __init__(self, source: str, line: int | None, path: KeyPath, message: str):
        self.source, self.line, self.path, self.message = source, line, path, message
        where = f"{source}:{line}" if line else source
        key = f" {dotted(path)}:" if path else ""
        super().__init__(f"{where}:{key} {message}")


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core booleans/floats and no implicit timestamps."""


StrictLoader.yaml_implicit_resolvers = {
    first: [
        (tag, rx)
        for tag, rx in resolvers
        if tag
        not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
                 |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def _float(loader: yaml.SafeLoader, node: yaml.Node) -> float | int:
    text = loader.construct_scalar(node).replace("_", "")
    low = text.lower()
    if low in (".inf", "+.inf"):
        return float("inf")
    if low == "-.inf":
        return float("-inf")
    if low == ".nan":
        return float("nan")
    if re.fullmatch(r"[-+]?[0-9]+", text):  # plain integers are caught by the int resolver first
        return int(text)
    return float(text)


StrictLoader.add_constructor("tag:yaml.org,2002:float", _float)


@dataclass
class LoadedYaml:
    data: Any
    lines: dict[KeyPath, int]  # key path -> 1-based line of the key
    source: str


def _walk(node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], source: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            line = key_node.start_mark.line + 1
            if key == "<<":
                continue
            if key in seen:
                raise YamlError(
                    source, line, (*path, key), f"duplicate key (first defined on line {seen[key]})"
                )
            seen[key] = line
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, source)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[(*path, i)] = item.start_mark.line + 1
            _walk(item, (*path, i), lines, source)


def parse_yaml(text: str, source: str) -> LoadedYaml:
    """Parse one YAML document; errors name ``source`` and the line."""
    loader = StrictLoader(text)
    try:
        node = loader.get_single_node()
        lines: dict[KeyPath, int] = {}
        if node is not None:
            _walk(node, (), lines, source)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        raise YamlError(source, line, (), f"not valid YAML: {err.problem or err}") from None
    except yaml.YAMLError as err:
        raise YamlError(source, None, (), f"not valid YAML: {err}") from None
    finally:
        loader.dispose()
    return LoadedYaml(data, lines, source)


def load_yaml(path: str | Path) -> LoadedYaml:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise YamlError(str(path), None, (), f"cannot read: {err.strerror}") from None
    return parse_yaml(text, str(path))


def parse_value(text: str) -> Any:
    """A command-line override value, read as YAML (``[1, 2]``, ``1e-5``, ``null``, ``no``)."""
    return parse_yaml(text, "<override>").data if text.strip() else ""
