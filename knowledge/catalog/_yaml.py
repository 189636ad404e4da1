"""Read a YAML file into plain Python data plus the line of every node, refusing anything that is not text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubeai.errors import CatalogError

__all__ = ["MAX_BYTES", "MAX_NODES", "Located", "YamlPath", "format_path", "read_yaml"]

MAX_BYTES = 16 * 1024 * 1024
MAX_NODES = 1_000_000

YamlPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Located:
    """YAML data and the 1-based line where each path (tuple of keys and indexes) starts."""

    data: Any
    lines: dict[YamlPath, int]

    def line(self, path: YamlPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor present in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


def format_path(path: YamlPath) -> str:
    """``("metrics", 3, "sql")`` -> ``metrics[3].sql``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def read_yaml(path: Path) -> Located:
    """Read and parse ``path``.

    Raises:
        CatalogError: The file is missing, too large, binary, not UTF-8, empty, not valid YAML, not a mapping at
            the top, or has a key twice in one mapping.
    """
    name = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(
            f"Cannot read catalog file {path}: {exc.strerror or exc}; check the path.", file=str(path)
        ) from None
    if len(raw) > MAX_BYTES:
        raise CatalogError(
            f"{name} is {len(raw)} bytes, over the {MAX_BYTES}-byte limit for a catalog; split or trim it.",
            file=str(path),
        )
    if b"\x00" in raw:
        raise CatalogError(
            f"{name} looks like a binary file, not YAML text; pass the catalog's .yaml file.", file=str(path)
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogError(
            f"{name} line {line} is not UTF-8 text; save the catalog as UTF-8.", file=str(path), line=line
        ) from None
    # libyaml's parser when PyYAML was built with it: the same nodes and marks, about 10x faster on a large catalog
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise CatalogError(f"{name} is empty; a catalog needs at least warehouse and tables.", file=str(path))
        lines: dict[YamlPath, int] = {}
        size = _walk(node, (), lines, {}, path)
        if size > MAX_NODES:
            raise CatalogError(
                f"{name} expands to {size} YAML nodes through aliases, over the limit of {MAX_NODES}; "
                "use fewer anchors and aliases.",
                file=str(path),
            )
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        mark_line: int | None = mark.line + 1 if mark is not None else None
        where = f" line {mark_line}" if mark_line is not None else ""
        problem = getattr(exc, "problem", None) or "invalid syntax"
        raise CatalogError(
            f"{name}{where} is not valid YAML ({problem}); fix the syntax there.", file=str(path), line=mark_line
        ) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise CatalogError(
            f"{name} line 1 must hold a mapping (warehouse:, tables:, ...) at the top, not a {type(data).__name__}.",
            file=str(path),
            line=1,
        )
    return Located(data=data, lines=lines)


def _walk(node: yaml.Node, path: YamlPath, lines: dict[YamlPath, int], sizes: dict[int, int], file: Path) -> int:
    """Record lines, reject duplicate keys; return how many nodes ``node`` expands to with aliases resolved."""
    lines.setdefault(path, node.start_mark.line + 1)
    if id(node) in sizes:  # an alias: walked once already; walking again could explode (billion laughs)
        return sizes[id(node)]
    sizes[id(node)] = 1
    size = 1
    if isinstance(node, yaml.MappingNode):
        keys: set[Any] = set()
        for key_node, value_node in node.value:
            key: Any = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if key is not None and key != "<<" and key in keys:
                line = key_node.start_mark.line + 1
                field = format_path((*path, str(key)))
                raise CatalogError(
                    f"{file.name} line {line}, {field}: key `{key}` appears twice in the same mapping; keep one.",
                    file=str(file),
                    line=line,
                    field=field,
                )
            keys.add(key)
            child = (*path, str(key)) if key is not None and key != "<<" else path
            lines.setdefault(child, key_node.start_mark.line + 1)
            size += 1 + _walk(value_node, child, lines, sizes, file)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            size += _walk(item, (*path, index), lines, sizes, file)
    sizes[id(node)] = size
    return size
