"""Read YAML into plain data while remembering where every value came from.

Errors must name a line, so we compose the node tree ourselves (PyYAML keeps
marks on nodes) and build plain dicts/lists plus a map JSON pointer → line.
Walking the nodes also lets us refuse alias bombs ("billion laughs"): an alias
is the same node object visited again, so counting visits bounds the expanded
size no matter how the aliases nest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import yaml

_MERGE_TAG = "tag:yaml.org,2002:merge"

MAX_NODES = 200_000
MAX_DEPTH = 64

_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlProblem(Exception):
    def __init__(self, line: int | None, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.message = message
        self.fix = fix


@dataclass
class Located:
    data: Any
    lines: dict[str, int]  # JSON pointer -> 1-based line

    def line_of(self, pointer: str) -> int | None:
        """Line of ``pointer`` or of its nearest ancestor that has one."""
        while True:
            if pointer in self.lines:
                return self.lines[pointer]
            if not pointer:
                return None
            pointer = pointer.rsplit("/", 1)[0]


def escape_pointer_token(token: str | int) -> str:
    return str(token).replace("~", "~0").replace("/", "~1")


def load_located(text: str) -> Located:
    try:
        root = yaml.compose(text, Loader=_SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        detail = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        raise YamlProblem(line, f"YAML syntax error: {detail}", "fix the YAML syntax at that line") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(None, f"YAML error: {exc}") from None
    if root is None:
        return Located(None, {"": 1})
    builder = _Builder()
    data = builder.build(root, "", 0)
    return Located(data, builder.lines)


class _Builder:
    def __init__(self) -> None:
        self.lines: dict[str, int] = {}
        self.visits = 0
        self.constructor = yaml.constructor.SafeConstructor()
        self._merged_counts: dict[int, int] = {}  # an aliased mapping is flattened once, then reused

    def build(self, node: yaml.Node, pointer: str, depth: int) -> Any:
        self.visits += 1
        if self.visits > MAX_NODES:
            raise YamlProblem(
                node.start_mark.line + 1,
                f"the YAML expands to more than {MAX_NODES} values (anchors and aliases multiply it)",
                "write the values out or use fewer nested aliases",
            )
        if depth > MAX_DEPTH:
            raise YamlProblem(node.start_mark.line + 1, f"the YAML nests deeper than {MAX_DEPTH} levels")
        self.lines.setdefault(pointer, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, pointer, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, f"{pointer}/{index}", depth + 1) for index, item in enumerate(node.value)]
        value = self.constructor.construct_object(node, deep=True)
        if hasattr(value, "isoformat"):
            # Dates and times are not JSON values; keep what was written.
            return node.value
        if isinstance(value, float) and not math.isfinite(value):
            raise YamlProblem(
                node.start_mark.line + 1,
                f"{node.value!r} is not a finite number",
                "write a finite number here (.nan and .inf are not accepted anywhere in a manifest)",
            )
        return value

    def _mapping(self, node: yaml.MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        """A mapping with YAML 1.1 merge keys: explicit keys override merged ones, earlier merged maps win.

        Only two *explicit* keys with the same name are a duplicate; a key that
        overrides a value brought in by ``<<: *base`` is what merge keys are for.
        """
        merged_count = self._merged_counts.get(id(node))
        if merged_count is None:
            explicit = sum(1 for key_node, _ in node.value if key_node.tag != _MERGE_TAG)
            self.constructor.flatten_mapping(node)  # moves merged pairs first, in "last wins" order
            merged_count = self._merged_counts[id(node)] = len(node.value) - explicit
        result: dict[str, Any] = {}
        explicit_keys: set[str] = set()
        for index, (key_node, value_node) in enumerate(node.value):
            key = self.constructor.construct_object(key_node, deep=True) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise YamlProblem(key_node.start_mark.line + 1, f"mapping key {key!r} is not a string", "quote the key")
            if index >= merged_count:
                if key in explicit_keys:
                    raise YamlProblem(
                        key_node.start_mark.line + 1,
                        f"duplicate key {key!r}",
                        "remove one of the two; YAML keeps only the last silently",
                    )
                explicit_keys.add(key)
            child = f"{pointer}/{escape_pointer_token(key)}"
            self.lines[child] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, child, depth + 1)
        return result
