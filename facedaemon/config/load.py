"""Read one YAML config file into the typed models, with error messages a person can act on.

Every problem is reported as ``file:line: dotted.key: reason (got value)``; the YAML node tree gives the
line numbers (config/yaml_tree.py), pydantic gives the reasons (worded in config/errors.py). Nothing here
imports heavy libraries: the CLI's check-config and the web app load the config too. PyYAML and ssl (the MQTT
TLS check) are imported when a file is loaded, not with the package.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from facedaemon.config.errors import ConfigError, KeyPath, Problem, reason, show, unknown_key
from facedaemon.config.models import Config, SourceKind

_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PATH_KEYS = ("faces_dir", "runtime_dir", "cache_dir", "state_dir")


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
    from facedaemon.config import yaml_tree  # PyYAML: only when a file is loaded, not with the package

    if isinstance(text, bytes):
        text = yaml_tree.decode(text, source)
    root, document = yaml_tree.parse(text, source)
    lines = yaml_tree.line_map(root)
    builder = _Builder(source, lines, Path(os.path.abspath(os.path.expanduser(base_dir))))
    return builder.build(document)


# ---------------------------------------------------------------------------------------------- building


class _Builder:
    """Turns the user's YAML shape into the models' shape, collecting every problem before raising."""

    def __init__(self, source: str, lines: dict[KeyPath, int], base_dir: Path) -> None:
        self.source = source
        self.lines = lines
        self.base_dir = base_dir
        self.problems: list[Problem] = []
        self.notices: list[str] = []  # deprecated keys: the config loads, the daemon logs each line once
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
        from facedaemon.config import tls as mqtt_tls  # ssl: only when a file is loaded, not with the package

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
        if isinstance(data.get("events"), dict):
            data["events"] = self.include_unknown(dict(data["events"]))
        config: Config | None = None
        try:
            config = Config.model_validate(data)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                self.pydantic_problem(error)
        if config is not None:  # the TLS files must exist and load: a config error, not a reconnect loop
            for key, message in mqtt_tls.problems(config.events.mqtt.tls):
                self.problem(key, message)
            self.unknown_visitors(config.events.unknown_visitors)
            self.state_outside_faces(config)
        if self.problems or config is None:
            raise ConfigError(self.problems)
        config._notices = tuple(self.notices)
        return config

    def notice(self, path: KeyPath, message: str) -> None:
        self.notices.append(str(Problem(self.source, self.line(path), ".".join(path), message)))

    # -- events

    def include_unknown(self, events: dict[Any, Any]) -> dict[Any, Any]:
        """The deprecated `events.include_unknown` (before per-camera unknown visitors): true still reports unknown
        visitors, on every camera, as `unknown_visitors: [all cameras]` would; one notice says what to write."""
        if "include_unknown" not in events:
            return events
        where = ("events", "include_unknown")
        old = events.pop("include_unknown")
        if not isinstance(old, bool):
            self.problem(where, f"must be true or false (got {show(old)}); it is deprecated: use "
                                "events.unknown_visitors: [<camera>, ...]")
        elif "unknown_visitors" in events:
            self.notice(where, "deprecated, and ignored since events.unknown_visitors is set: remove it")
        elif old:
            cameras = list(self.camera_names)
            events["unknown_visitors"] = cameras
            self.notice(where, f"deprecated: read as events.unknown_visitors: [{', '.join(cameras)}] (every "
                               "camera); write that instead, or list only the cameras that should report strangers")
        else:
            self.notice(where, "deprecated (unknown visitors are off unless events.unknown_visitors lists "
                               "cameras): remove it")
        return events

    def unknown_visitors(self, names: tuple[str, ...]) -> None:
        cameras = set(self.camera_names)
        for index, name in enumerate(names):
            if name not in cameras:
                self.problem(("events", "unknown_visitors", str(index)),
                             f"{show(name)} is not a camera of this file (cameras: {', '.join(sorted(cameras))})")

    def state_outside_faces(self, config: Config) -> None:
        if config.state_dir is not None and config.state_dir.is_relative_to(config.faces_dir):
            self.problem(("state_dir",), f"must not be inside faces_dir ({config.faces_dir}): a fleet syncs "
                                         f"faces_dir, and the history is this device's own (got {config.state_dir})")

    def path(self, key: KeyPath, value: str) -> Path:
        # Lexical, like the shell: no filesystem access, and a symlinked faces/ keeps the name the user wrote.
        if not value.strip():
            self.problem(key, "must not be empty")
            return self.base_dir
        if "\0" in value:
            self.problem(key, f"must not contain a NUL character (got {show(value)})")
            return self.base_dir
        try:
            expanded = os.path.expanduser(value)
        except (RuntimeError, KeyError) as exc:  # '~nosuchuser' on some platforms
            self.problem(key, f"cannot expand '~': {exc} (got {show(value)})")
            return self.base_dir
        return Path(os.path.normpath(self.base_dir / expanded))

    # -- cameras

    def cameras(self, value: Any) -> Any:
        if not isinstance(value, dict):
            self.problem(("cameras",), f"must be a mapping of camera name -> settings (got {show(value)})")
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
            self.problem(("cameras", str(key)), f"camera names must be text (got {show(key)})")
            return None
        name = str(key)
        where = ("cameras", name)
        if not isinstance(settings, dict):
            example = "such as 'source: pattern'"
            self.problem(where, f"must be a mapping of settings {example} (got {show(settings)})")
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
            self.problem(where, f"{exc} (got {show(value)})")
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
            self.problem(loc, unknown_key(error["loc"]))
            return
        if kind == "missing":
            self.problem(loc, "required key is missing")
            return
        if kind == "invalid_key":
            self.problem(loc, f"keys must be text (got {show(error['input'])})")
            return
        self.problem(loc, f"{reason(error)} (got {show(error['input'])})")

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
