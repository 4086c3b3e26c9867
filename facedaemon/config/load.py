"""Read one YAML config file into the typed models, with error messages a person can act on.

Every problem is reported as ``file:line: dotted.key: reason (got value)``; the YAML node tree gives the
line numbers, pydantic gives the reasons. Nothing here imports heavy libraries: the CLI's check-config and
the web app load the config too.
"""

from __future__ import annotations

import difflib
import os
import re
import reprlib
import stat
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from facedaemon.config import tls as mqtt_tls
from facedaemon.config.models import CameraConfig, Config, SourceKind
from facedaemon.redact import mask_credentials

_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PATH_KEYS = ("faces_dir", "runtime_dir", "cache_dir")

KeyPath = tuple[str, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a config file."""

    file: str
    line: int | None
    path: str  # dotted key path, "" for the file itself
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return mask_credentials(f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}")


class ConfigError(Exception):
    """The config file cannot be used; ``problems`` lists every reason found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.path))
        super().__init__("\n".join(str(problem) for problem in self.problems))


# ---------------------------------------------------------------------------------------------- public API


def load(path: str | Path) -> Config:
    """Load and validate the YAML config file at ``path``; relative paths in it resolve against its folder."""
    name = str(path)
    file = Path(path).expanduser()
    try:
        data = _read_config_file(file)
    except FileNotFoundError:
        raise ConfigError([Problem(name, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(name, None, "", "is a directory, not a config file")]) from None
    except PermissionError:
        raise ConfigError([Problem(name, None, "", "permission denied")]) from None
    except OSError as exc:
        raise ConfigError([Problem(name, None, "", f"cannot read: {exc.strerror or exc}")]) from None
    return load_text(data, source=name, base_dir=file.parent)


MAX_CONFIG_BYTES = 1024 * 1024  # a config is a few KB; more is a mistake (or /dev/zero), never worth reading


def _read_config_file(file: Path) -> bytes:
    """The file's bytes if it is a regular file of at most MAX_CONFIG_BYTES; raises ConfigError otherwise.

    Opened non-blocking and checked with fstat before reading, so a FIFO (which would wait for a writer) or
    a device never stalls the caller: a SIGHUP reload runs in the daemon's main loop."""
    fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(file)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError([Problem(str(file), None, "", "is not a regular file (a pipe or a device?)")])
        if info.st_size > MAX_CONFIG_BYTES:
            raise ConfigError([Problem(str(file), None, "", f"is {info.st_size:,} bytes; a config file may be "
                                                            f"at most {MAX_CONFIG_BYTES:,}")])
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read(MAX_CONFIG_BYTES + 1)[:MAX_CONFIG_BYTES]
    finally:
        os.close(fd)


def load_text(text: str | bytes, *, source: str, base_dir: Path) -> Config:
    """Validate config ``text``; ``source`` names it in messages; relative paths resolve against ``base_dir``.

    ``text`` may be bytes (decoded as UTF-8, like a file). Raises ConfigError for anything unusable.
    """
    if isinstance(text, bytes):
        text = _decode(text, source)
    root, document = _parse(text, source)
    lines = _line_map(root)
    builder = _Builder(source, lines, Path(os.path.abspath(os.path.expanduser(base_dir))))
    return builder.build(document)


# ---------------------------------------------------------------------------------------------- YAML


def _decode(data: bytes, source: str) -> str:
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


def _parse(text: str, source: str) -> tuple[yaml.Node, Any]:
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
        message = f"the top level must be a mapping of settings {example} (got {_show(document)})"
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


def _line_map(root: yaml.Node) -> dict[KeyPath, int]:
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


# ---------------------------------------------------------------------------------------------- building


class _Builder:
    """Turns the user's YAML shape into the models' shape, collecting every problem before raising."""

    def __init__(self, source: str, lines: dict[KeyPath, int], base_dir: Path) -> None:
        self.source = source
        self.lines = lines
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self.camera_names: list[str] = []

    def problem(self, path: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.source, self.line(path), ".".join(path), message))

    def line(self, path: KeyPath) -> int | None:
        # A missing key has no line of its own: point at the nearest parent that exists.
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None

    def build(self, document: dict[Any, Any]) -> Config:
        data = dict(document)
        for key in _PATH_KEYS:
            if isinstance(data.get(key), str):
                data[key] = self.path((key,), data[key])
        unknowns = data.get("unknowns")
        if isinstance(unknowns, dict) and isinstance(unknowns.get("dir"), str):
            data["unknowns"] = {**unknowns, "dir": self.path(("unknowns", "dir"), unknowns["dir"])}
        data = mqtt_tls.resolve_paths(data, self.path)
        if "cameras" in data:
            data["cameras"] = self.cameras(data["cameras"])
        config: Config | None = None
        try:
            config = Config.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.pydantic_problem(error)
        if config is not None:  # the TLS files must exist and load: a config error, not a reconnect loop
            for key, message in mqtt_tls.problems(config.events.mqtt.tls):
                self.problem(key, message)
        if self.problems or config is None:
            raise ConfigError(self.problems)
        return config

    def path(self, key: KeyPath, value: str) -> Path:
        # Lexical, like the shell: no filesystem access, and a symlinked faces/ keeps the name the user wrote.
        if not value.strip():
            self.problem(key, "must not be empty")
            return self.base_dir
        if "\0" in value:
            self.problem(key, f"must not contain a NUL character (got {_show(value)})")
            return self.base_dir
        try:
            expanded = os.path.expanduser(value)
        except (RuntimeError, KeyError) as exc:  # '~nosuchuser' on some platforms
            self.problem(key, f"cannot expand '~': {exc} (got {_show(value)})")
            return self.base_dir
        return Path(os.path.normpath(self.base_dir / expanded))

    # -- cameras

    def cameras(self, value: Any) -> Any:
        if not isinstance(value, dict):
            self.problem(("cameras",), f"must be a mapping of camera name -> settings (got {_show(value)})")
            return ()
        if not value:
            self.problem(("cameras",), "at least one camera is required")
            return ()
        cameras = []
        for key, settings in value.items():
            camera = self.camera(key, settings)
            if camera is not None:
                cameras.append(camera)
        return tuple(cameras)

    def camera(self, key: Any, settings: Any) -> dict[str, Any] | None:
        if isinstance(key, bool) or not isinstance(key, str | int):
            self.problem(("cameras", str(key)), f"camera names must be text (got {_show(key)})")
            return None
        name = str(key)
        where = ("cameras", name)
        if not isinstance(settings, dict):
            example = "such as 'source: pattern'"
            self.problem(where, f"must be a mapping of settings {example} (got {_show(settings)})")
            return None
        self.camera_names.append(name)
        camera = {str(k): v for k, v in settings.items()}
        if "name" in camera:
            self.problem((*where, "name"), "unknown key 'name' (a camera's name is its key under 'cameras')")
            del camera["name"]
        camera["name"] = name
        if "source" in camera:
            camera["source"] = self.source_config((*where, "source"), camera["source"])
        if isinstance(camera.get("rtsp"), bool):  # shorthand: 'rtsp: true'
            camera["rtsp"] = {"enabled": camera["rtsp"]}
        return camera

    def source_config(self, where: KeyPath, value: Any) -> Any:
        if isinstance(value, dict):
            return self.explicit_source(where, value)
        try:
            kind, uri = classify_source(value)
        except ValueError as exc:
            self.problem(where, f"{exc} (got {_show(value)})")
            return {"kind": SourceKind.PATTERN, "uri": "default"}  # placeholder so the rest still validates
        if kind is SourceKind.FILE:
            uri = str(self.path(where, uri))
        return {"kind": kind, "uri": uri}

    def explicit_source(self, where: KeyPath, value: dict[Any, Any]) -> dict[Any, Any]:
        source = dict(value)
        uri = source.get("uri")
        kind = source.get("kind")
        if kind == SourceKind.V4L2 and isinstance(uri, int) and not isinstance(uri, bool):
            source["uri"] = str(uri)
        elif kind == SourceKind.FILE and isinstance(uri, str):
            source["uri"] = str(self.path((*where, "uri"), uri))
        return source

    # -- pydantic errors

    def pydantic_problem(self, error: Any) -> None:
        loc = self.named_loc(error["loc"])
        kind = error["type"]
        if kind == "too_short" and loc == ("cameras",):
            return  # emptiness is reported by cameras(); after other camera errors this one is noise
        if kind == "extra_forbidden":
            self.problem(loc, _unknown_key(error["loc"]))
            return
        if kind == "missing":
            self.problem(loc, "required key is missing")
            return
        if kind == "invalid_key":
            self.problem(loc, f"keys must be text (got {_show(error['input'])})")
            return
        self.problem(loc, f"{_reason(error)} (got {_show(error['input'])})")

    def named_loc(self, loc: tuple[Any, ...]) -> KeyPath:
        parts = [str(part) for part in loc]
        index = loc[1] if len(loc) >= 2 and loc[0] == "cameras" else None
        if isinstance(index, int) and index < len(self.camera_names):
            parts[1] = self.camera_names[index]
            if parts[2:] == ["name"]:
                del parts[2]  # the name is the key itself
        return tuple(parts)


def classify_source(value: Any) -> tuple[SourceKind, str]:
    """Shorthand ``source:`` value -> (kind, uri). File paths are returned as written (not resolved)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError("must be a device path or index, an rtsp:// URL, a file path or 'pattern'")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("a device index must be 0 or more")
        return SourceKind.V4L2, str(value)
    text = value.strip()
    if not text:
        raise ValueError("must not be empty")
    if text == "pattern" or text.startswith("pattern:"):
        return SourceKind.PATTERN, text.partition(":")[2] or "default"
    if text.startswith(("/dev/video", "/dev/v4l/")):
        return SourceKind.V4L2, text
    scheme = _URL_SCHEME.match(text)
    if scheme:
        if scheme.group(1).lower() in ("rtsp", "rtsps"):
            return SourceKind.RTSP, text
        # Treating 'http://...' as a file name would only fail later with a confusing 'file not found'.
        raise ValueError(f"unsupported URL scheme '{scheme.group(1)}' (use rtsp:// or rtsps://)")
    return SourceKind.FILE, text


def _unknown_key(loc: tuple[Any, ...]) -> str:
    key = str(loc[-1])
    message = f"unknown key '{key}'"
    model = _model_at(loc[:-1])
    if model is not None:
        known = [name for name in model.model_fields if not (model is CameraConfig and name == "name")]
        close = difflib.get_close_matches(key, known, n=1)
        if close:
            message += f" (did you mean '{close[0]}'?)"
    return message


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``loc`` (indexes of tuples skipped)."""
    model: type[BaseModel] = Config
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if typing.get_origin(annotation) is tuple:
            annotation = typing.get_args(annotation)[0]
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


_REASONS = {
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "must have at least {min_length} item(s)",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "string_unicode": "must be text",
    "path_type": "must be a path",
    "model_type": "must be a mapping of settings",
    "dict_type": "must be a mapping of settings",
    "tuple_type": "must be a list",
}


def _reason(error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "value_error":
        return str(ctx.get("error") or error["msg"])
    template = _REASONS.get(kind)
    if template is None:
        message = str(error["msg"])
        return message[:1].lower() + message[1:]
    try:
        return template.format(**{key: _number(value) for key, value in ctx.items()})
    except (KeyError, IndexError):
        return template.split(" {")[0]


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _show(value: Any) -> str:
    """A short, YAML-flavoured rendering of a value for messages (credentials masked later)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    # Bounded repr: a YAML alias bomb must not turn one error message into gigabytes.
    short = reprlib.Repr()
    short.maxlevel, short.maxstring, short.maxother = 2, 60, 60
    short.maxlist = short.maxtuple = short.maxset = short.maxfrozenset = short.maxdict = 4
    return short.repr(value)
