"""facedaemon command line: run, check-config, identify, enroll, forget, unknowns, hash-password, bench."""

from __future__ import annotations

import argparse
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from facedaemon.config.models import DETECTORS, RecognitionConfig
from facedaemon.gallery.settings import GallerySettings

if TYPE_CHECKING:
    from facedaemon.config.models import Config

log = logging.getLogger("facedaemon")

EXIT_CONFIG = 2  # bad config or arguments: restarting will not help


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # face_recognition_models imports pkg_resources, which warns on import; not ours to fix, not the user's to read
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    return args.handler(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facedaemon", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon")
    run.add_argument("--config", "-c", type=Path, default=Path("/etc/facedaemon/facedaemon.yaml"))
    run.set_defaults(handler=_run)

    check = commands.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config", type=Path)
    check.set_defaults(handler=_check_config)

    identify = commands.add_parser("identify", help="name the faces in images (JSON line per image)")
    identify.add_argument("--config", "-c", type=Path, default=None,
                          help="judge as this config's daemon does (its faces_dir, cache and recognition)")
    identify.add_argument("--faces", type=Path, help="known faces folder (without --config)")
    # The config's defaults, so the command judges photos as the daemon does unless told otherwise
    defaults = RecognitionConfig()
    identify.add_argument("--model", choices=DETECTORS, default=defaults.model)
    identify.add_argument("--tolerance", type=float, default=defaults.tolerance)
    identify.add_argument("--scale", type=float, default=1.0, help="detect on the image scaled by this factor")
    identify.add_argument("--cache-dir", type=Path, default=None)
    identify.add_argument("images", nargs="+", type=Path)
    identify.set_defaults(handler=_identify)

    enroll = commands.add_parser("enroll", help="add photos of a person to faces_dir (checked: one clear face each)")
    enroll.add_argument("--config", "-c", type=Path, default=Path("/etc/facedaemon/facedaemon.yaml"))
    enroll.add_argument("--allow-flagged", action="store_true",
                        help="add photos with a quality warning (small, blurred, unlike the others) anyway")
    enroll.add_argument("name", help="person name: letters, digits, spaces, _ - .")
    enroll.add_argument("images", nargs="+", type=Path)
    enroll.set_defaults(handler=_enroll)

    forget = commands.add_parser("forget", help="delete a person's photos and cached face encodings")
    forget.add_argument("--config", "-c", type=Path, default=Path("/etc/facedaemon/facedaemon.yaml"))
    forget.add_argument("name")
    forget.set_defaults(handler=_forget)

    from facedaemon.gallery import group_cli  # argparse only: nothing heavy is imported

    unknown = commands.add_parser("unknowns", help="groups of unknown faces: list, name, ignore")
    unknown.add_argument("--config", "-c", type=Path, default=Path("/etc/facedaemon/facedaemon.yaml"))
    group_cli.add_arguments(unknown)
    unknown.set_defaults(handler=_with_config(_unknowns))

    hashing = commands.add_parser("hash-password", help="print a password hash (or a new bearer token) for auth")
    hashing.add_argument("--token", action="store_true", help="make a random bearer token and print its digest")
    hashing.set_defaults(handler=_hash_password)

    from facedaemon.bench.cli import add_arguments  # argparse only: nothing heavy is imported

    bench = commands.add_parser("bench", help="measure the seed's design and facedaemon on the same clip")
    add_arguments(bench)
    bench.set_defaults(handler=_bench)
    return parser


def _load(path: Path) -> Config | None:
    from facedaemon.config import ConfigError, load

    try:
        return load(path)
    except ConfigError as exc:
        print(f"facedaemon: invalid config:\n{exc}", file=sys.stderr)
        return None


def _with_config(handler: Callable[[argparse.Namespace, Config], int]) -> Callable[[argparse.Namespace], int]:
    """The command with args.config loaded; an invalid one is printed and ends it with EXIT_CONFIG."""
    @functools.wraps(handler)
    def wrapped(args: argparse.Namespace) -> int:
        config = _load(args.config)
        return EXIT_CONFIG if config is None else handler(args, config)
    return wrapped


def _unknowns(args: argparse.Namespace, config: Config) -> int:
    """`facedaemon unknowns`: naming a group also relabels its visits in the history, when the history is on."""
    from facedaemon.gallery import group_cli
    from facedaemon.history import paths, store

    db = paths.database(config)

    def relabel(gid: str, person: str, sightings: list[tuple[str, float]]) -> None:
        store.relabel_strangers(db, gid, person, sightings)

    return group_cli.run(args, config, relabel if config.history.enabled else None)


@_with_config
def _check_config(args: argparse.Namespace, config: Config) -> int:
    names = ", ".join(f"{c.name} ({c.source.kind.value})" for c in config.cameras)
    for notice in config.notices:
        print(f"facedaemon: warning: {notice}", file=sys.stderr)
    print(f"{args.config}: ok — {len(config.cameras)} camera(s): {names}")
    return 0


@_with_config
def _run(args: argparse.Namespace, config: Config) -> int:
    from facedaemon.logs import setup_logging

    setup_logging(config.log_level)
    for notice in config.notices:
        log.warning("config: %s", notice)
    # Video segments, status, metrics, crops: never readable by other users (0640 files, 0750 folders at most),
    # also for ffmpeg and gunicorn (they inherit it) and outside systemd (whose unit sets UMask=0027 too).
    os.umask(os.umask(0o027) | 0o027)
    from facedaemon.children.ffmpeg import FfmpegNotFound, find_ffmpeg
    from facedaemon.daemon import malloc
    from facedaemon.daemon.arbiter import Daemon

    malloc.tune()  # before any thread starts: restarted camera threads must not leave memory in arenas of their own

    try:
        log.info("using ffmpeg %s", find_ffmpeg(config.encoder.ffmpeg))
    except FfmpegNotFound as exc:
        log.error("%s", exc)
        return EXIT_CONFIG
    for camera in config.cameras:
        if camera.source.kind.value == "pattern" and camera.enabled:
            log.info("camera %s: built-in test pattern (no camera needed); point 'source' at a camera to "
                     "watch real video", camera.name)
    return Daemon(config, args.config).run()


def _identify(args: argparse.Namespace) -> int:
    from facedaemon.identify import run_identify
    from facedaemon.logs import setup_logging

    setup_logging("warning")
    if args.config is not None:
        config = _load(args.config)
        if config is None:
            return EXIT_CONFIG
        return run_identify(GallerySettings.from_config(config), args.images, scale=config.recognition.scale,
                            recognition=config.recognition)
    if args.faces is None:
        print("identify: give --faces DIR or --config FILE", file=sys.stderr)
        return EXIT_CONFIG
    gallery = GallerySettings(args.faces, args.cache_dir, model=args.model, tolerance=args.tolerance)
    return run_identify(gallery, args.images, scale=args.scale)


@_with_config
def _enroll(args: argparse.Namespace, config: Config) -> int:
    from facedaemon.gallery.edit import enroll, faces_owner
    from facedaemon.gallery.layout import EnrollError

    photos = []
    for image in args.images:
        try:
            photos.append((str(image), image.read_bytes()))
        except OSError as exc:
            print(f"facedaemon: {image}: cannot read: {exc.strerror or exc}", file=sys.stderr)
            return 1
    try:
        gallery = GallerySettings.from_config(config)
        written, checks = enroll(gallery, args.name, photos, allow_flagged=args.allow_flagged)
    except EnrollError as exc:
        print(f"facedaemon: not enrolled: {exc}", file=sys.stderr)
        return 1
    for check, path in zip(checks, written, strict=True):
        note = f" (warning: {', '.join(check.problems)})" if check.problems else ""
        print(f"{check.filename} -> {config.faces_dir / path}{note}")
    owner = faces_owner(gallery.faces_dir)
    if owner is not None:
        print(f"run as root: the new folder and photos now belong to uid {owner[0]} gid {owner[1]}, the owner of "
              f"{gallery.faces_dir}, so the service can read them")
    print(f"{args.name}: {len(written)} photo(s) added; a running daemon uses them within a few seconds")
    return 0


@_with_config
def _forget(args: argparse.Namespace, config: Config) -> int:
    from facedaemon.gallery.edit import forget
    from facedaemon.gallery.layout import EnrollError

    try:
        gallery = GallerySettings.from_config(config)
        report = forget(gallery, args.name)
    except EnrollError as exc:
        print(f"facedaemon: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: removed {len(report.files)} file(s) and {report.cache_entries} cached encoding(s); "
          "a running daemon stops recognising them within a few seconds")
    return 0


def _hash_password(args: argparse.Namespace) -> int:
    if args.token:
        import secrets

        from facedaemon.web.auth import hash_token

        token = secrets.token_urlsafe(32)
        print(f"token (give it to the client, keep it secret): {token}")
        print(f"digest (put it in auth.tokens): {hash_token(token)}")
        return 0
    import getpass

    from werkzeug.security import generate_password_hash

    password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    if len(password) < 8:
        print("facedaemon: use at least 8 characters", file=sys.stderr)
        return EXIT_CONFIG
    print(generate_password_hash(password))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from facedaemon.bench.cli import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
