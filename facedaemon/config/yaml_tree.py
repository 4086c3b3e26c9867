"""The YAML side of loading: text -> PyYAML's node tree -> plain data, plus each key path's line number.

PyYAML is imported here and nowhere else in config/, and only when a file is loaded. Duplicate keys (which
PyYAML silently collapses) and every YAML failure become `Problem`s naming the line. Pure: text in, data out.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from facedaemon.config.errors import ConfigError, KeyPath, Problem, show


def decode(data: bytes, source: str) -> str:
    """UTF-8 (a BOM allowed) to text; a bad byte is a Problem naming its line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise ConfigError([Problem(source, line, "", f"not UTF-8 text (byte 0x{byte:02x})")]) from None


class _Constructor(yaml.constructor.SafeConstructor):
    """Safe constructor; value errors (bad dates, huge numbers) carry the node's line, like syntax errors."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (yaml.YAMLError, RecursionError):
            raise
        except Exception as exc:  # PyYAML's constructors raise bare IndexError, KeyError, ... on odd input
            message = f"invalid value: {exc}"
            raise yaml.constructor.ConstructorError(None, None, message, node.start_mark) from exc

    def construct_bounded_int(self, node: yaml.Node) -> int:
        # Python refuses to print ints past 4300 digits; no setting needs more than 64 bits anyway.
        value = self.construct_yaml_int(node)
        if abs(value) >= 1 << 63:
            raise yaml.constructor.ConstructorError(None, None, "number too large", node.start_mark)
        return value


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_bounded_int)


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _Constructor,
    yaml.resolver.Resolver,
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _Constructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


def parse(text: str, source: str) -> tuple[yaml.Node, Any]:
    """(root node, loaded data) of one YAML document whose top level is a mapping; ConfigError otherwise."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # the reader already rejects control characters here
        root = loader.get_single_node()
        if root is None:
            raise ConfigError([Problem(source, None, "", "file is empty")])
        duplicates = list(_duplicate_keys(root, source))
        if duplicates:
            raise ConfigError(duplicates)
        document = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_yaml_problem(exc, source)]) from None
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        char = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        message = f"unacceptable character {char}: {exc.reason}"
        raise ConfigError([Problem(source, line, "", message)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(source, None, "", f"YAML error: {exc}")]) from None
    except RecursionError:
        raise ConfigError([Problem(source, None, "", "YAML is nested too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if document is None:  # only '---' or 'null'
        raise ConfigError([Problem(source, None, "", "file is empty")])
    if not isinstance(document, dict):
        example = "such as 'faces_dir: ...'"
        message = f"the top level must be a mapping of settings {example} (got {show(document)})"
        raise ConfigError([Problem(source, root.start_mark.line + 1, "", message)])
    return root, document


def _yaml_problem(exc: yaml.MarkedYAMLError, source: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    syntax = not isinstance(exc, yaml.constructor.ConstructorError)
    message = ("YAML syntax error: " if syntax else "cannot load: ") + (exc.problem or exc.context or "?")
    if exc.problem and exc.context:
        started = f" started on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{started})"
    return Problem(source, mark.line + 1 if mark else None, "", message)


def _walk(root: yaml.Node) -> Iterator[tuple[KeyPath, yaml.Node]]:
    """Every node with its key path, each node once (aliases are shared), without recursion."""
    seen: set[int] = set()
    stack: list[tuple[KeyPath, yaml.Node]] = [((), root)]
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield path, node
        if isinstance(node, yaml.MappingNode):
            stack.extend(((*path, _key_text(key)), value) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(((*path, str(index)), item) for index, item in enumerate(node.value))


def _key_text(node: yaml.Node) -> str:
    """The key as the loaded data spells it (``1`` and ``true`` become ``1``/``True``), for matching."""
    if not isinstance(node, yaml.ScalarNode):
        return "<complex key>"
    try:
        return str(_Constructor().construct_object(node))
    except Exception:  # any constructor failure is reported by the real load; here only a label is needed
        return str(node.value)


def _duplicate_keys(root: yaml.Node, source: str) -> Iterator[Problem]:
    # PyYAML silently keeps the last of two equal keys; a second 'door:' camera would vanish unnoticed.
    for path, node in _walk(root):
        if not isinstance(node, yaml.MappingNode):
            continue
        first: dict[str, int] = {}
        for key, _ in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                continue
            text, line = _key_text(key), key.start_mark.line + 1
            if text in first:
                dotted = ".".join((*path, text))
                yield Problem(source, line, dotted, f"duplicate key (first given on line {first[text]})")
            else:
                first[text] = line


def line_map(root: yaml.Node) -> dict[KeyPath, int]:
    """Key path -> 1-based line of the key (or of the list item) in the file.

    Runs after construction, when '<<' merges have been flattened into each mapping (merged keys first), so
    the last occurrence of a key is the one that took effect.
    """
    lines: dict[KeyPath, int] = {}
    for path, node in _walk(root):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, _ in node.value:
                lines[(*path, _key_text(key))] = key.start_mark.line + 1
    return lines
