"""Layered study parameters, and problems that name the file and line that set a value.

Layers, later wins, nested mappings merged key by key (papermill's own ``-f`` merge is shallow):

    params/base.yaml -> params/profiles/<profile>.yaml -> the study file -> ``-p key.path=value``

Every error is a :class:`Problem`: the file (and line) that set the offending value, its key path
and what was expected; unknown keys get a suggestion.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ValidationError

from .study_schema import Study
from .yamlio import KeyPath, YamlError, dotted, load_yaml, parse_value

OVERRIDE_SOURCE = "command line"


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    path: KeyPath
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {dotted(self.path) or '<top>'}: {self.message}"


class ParamsError(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n  ".join(str(p) for p in problems)
        super().__init__(f"invalid study parameters:\n  {lines}")


def suggest(word: str, options: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), sorted(set(options)), n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------------------------
# Layering
# --------------------------------------------------------------------------------------------


@dataclass
class Layers:
    """The merged mapping and, for every key path, the file and line that set it."""

    data: dict[str, Any] = field(default_factory=dict)
    origins: dict[KeyPath, tuple[str, int | None]] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def add(self, data: dict[str, Any], source: str, lines: dict[KeyPath, int]) -> None:
        self.sources.append(source)
        self.data = self._merge(self.data, data, (), source, lines)

    def _merge(self, dst: Any, src: Any, path: KeyPath, source: str, lines) -> Any:
        if isinstance(dst, dict) and isinstance(src, dict):
            out = dict(dst)
            for key, value in src.items():
                sub = (*path, key)
                self.origins[sub] = (source, lines.get(sub))
                out[key] = self._merge(dst.get(key), value, sub, source, lines)
            return out
        # replaced wholesale: forget the origins of what was below
        for p in [p for p in self.origins if len(p) > len(path) and p[: len(path)] == path]:
            del self.origins[p]
        if isinstance(src, dict | list):
            for p, line in lines.items():
                if len(p) > len(path) and p[: len(path)] == path:
                    self.origins[p] = (source, line)
        return src

    def origin(self, path: KeyPath) -> tuple[str, int | None]:
        for i in range(len(path), 0, -1):
            if path[:i] in self.origins:
                return self.origins[path[:i]]
        return (self.sources[-1] if self.sources else "<params>", None)

    def problem(self, path: KeyPath, message: str, source: str | None = None) -> Problem:
        src, line = self.origin(path)
        return Problem(source or src, None if source else line, path, message)


def parse_override(text: str) -> tuple[KeyPath, Any]:
    """``key.path=value`` -> (("key", "path"), value); the value is read as YAML."""
    key, sep, value = text.partition("=")
    path = tuple(key.strip().split("."))
    if not sep or not all(re.fullmatch(r"[A-Za-z_][\w-]*", p) for p in path):
        raise ParamsError(
            [Problem(OVERRIDE_SOURCE, None, (), f"override {text!r} is not key.path=value")]
        )
    try:
        return path, parse_value(value)
    except YamlError as err:
        raise ParamsError([Problem(OVERRIDE_SOURCE, None, path, err.message)]) from None


def nest_override(path: KeyPath, value: Any) -> dict[str, Any]:
    out: Any = value
    for part in reversed(path):
        out = {part: out}
    return out


def read_layer(path: Path) -> tuple[dict[str, Any], dict[KeyPath, int], str]:
    try:
        loaded = load_yaml(path)
    except YamlError as err:
        raise ParamsError([Problem(err.source, err.line, err.path, err.message)]) from None
    data = loaded.data if loaded.data is not None else {}
    if not isinstance(data, dict):
        raise ParamsError(
            [
                Problem(
                    loaded.source, 1, (), f"expected a mapping of keys, got {type(data).__name__}"
                )
            ]
        )
    return data, loaded.lines, loaded.source


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def available_profiles(pdir: Path) -> list[str]:
    return sorted(p.stem for p in (pdir / "profiles").glob("*.yaml"))


def resolve_profile(name: str, pdir: Path) -> Path | None:
    candidate = Path(name)
    if candidate.suffix in (".yaml", ".yml") and candidate.exists():
        return candidate
    path = pdir / "profiles" / f"{name}.yaml"
    return path if path.exists() else None


# --------------------------------------------------------------------------------------------
# Pydantic's errors as problems
# --------------------------------------------------------------------------------------------


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _strip_optional(typing.get_args(tp)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _strip_optional(args[0]) if len(args) == 1 else tp
    return tp


def _fields_at(model: type[BaseModel], path: KeyPath) -> list[str]:
    """The valid keys of the mapping at ``path`` within ``model`` ([] if not a model there)."""
    tp: Any = model
    for part in path:
        tp = _strip_optional(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if part not in tp.model_fields:
                return []
            tp = tp.model_fields[part].annotation
        elif typing.get_origin(tp) in (dict, list):
            tp = typing.get_args(tp)[-1]
        else:
            return []
    tp = _strip_optional(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else []


def _data_path(data: Any, loc: tuple) -> KeyPath:
    """Pydantic's ``loc`` without its union/type tags: only the steps present in the data."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and not path_is_tag(part):
            path.append(part)  # a missing key
            node = None
    return tuple(path)


def path_is_tag(part: str) -> bool:
    return any(c in part for c in "[]()") or part in {"int", "float", "str", "bool", "none"}


def pydantic_problems(err: ValidationError, layers: Layers, study_file: str) -> list[Problem]:
    problems = []
    for e in err.errors():
        path = _data_path(layers.data, e["loc"])
        kind = e["type"]
        value = e.get("input")
        if kind == "extra_forbidden":
            msg = f"unknown key {path[-1]!r}" + suggest(path[-1], _fields_at(Study, path[:-1]))
        elif kind == "missing":
            problems.append(Problem(study_file, None, path, "required value missing"))
            continue
        elif isinstance(value, bool) and kind in ("string_type", "string_pattern_mismatch"):
            msg = (
                f"expected a string, got the boolean {value}: YAML reads unquoted "
                "yes/no/on/off/true/false as booleans; quote it"
            )
        else:
            msg = f"{e['msg']} (got {value!r})"
            if kind == "literal_error" and isinstance(value, str):
                expected = re.findall(r"'([^']+)'", e["msg"])
                msg += suggest(value, expected)
        problems.append(layers.problem(path, msg))
    return problems
