"""Flask application factory for the page, HLS files, JSON API, health check and metrics.

The web app only reads files the daemon writes into runtime_dir (see the runtime directory contract), so it
can run in gunicorn workers apart from the daemon and never needs cv2, numpy or face_recognition.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, abort, current_app, jsonify, request
from werkzeug.exceptions import HTTPException, InternalServerError

from facedaemon.config import load
from facedaemon.gallery.settings import GallerySettings
from facedaemon.history import paths as history_paths
from facedaemon.logs import setup_logging
from facedaemon.web import api, auth, faces, groups, health, hls, identify, live, not_person, origin, pages, unknowns
from facedaemon.web import history as history_pages
from facedaemon.web.context import EXTENSION_KEY, WebContext, get_context

log = logging.getLogger(__name__)

# Only photo uploads take a real body; the limit stops someone streaming a large upload at a worker.
MAX_CONTENT_LENGTH = 1024 * 1024
UPLOAD_MAX_CONTENT_LENGTH = 20 * 1024 * 1024  # POST /api/faces/<name>: a few phone photos
UPLOAD_ENDPOINTS = frozenset({"faces.enroll", "not_person.mark_not", "identify.identify"})
# MSE plays from blob: URLs; everything else comes from this origin. No inline script or style on the page.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; media-src 'self' blob:; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'none'"
)


def create_app(context: WebContext) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_CONTENT_LENGTH
    app.extensions[EXTENSION_KEY] = context
    app.register_blueprint(pages.blueprint)
    app.register_blueprint(hls.blueprint)
    app.register_blueprint(live.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(faces.blueprint)
    app.register_blueprint(not_person.blueprint)
    app.register_blueprint(unknowns.blueprint)
    app.register_blueprint(history_pages.blueprint)
    app.register_blueprint(groups.blueprint)
    app.register_blueprint(identify.blueprint)
    app.before_request(_refuse_large_body)
    origin.install(app, context.allowed_hosts)  # before the login: a foreign site learns nothing either way
    if context.auth is not None:
        app.extensions["facedaemon.auth"] = auth.install(app, context.auth, context.runtime_dir)
    app.after_request(_security_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    return app


def create_app_from_config(config_path: str) -> Flask:
    """Entry point for gunicorn: "facedaemon.web.app:create_app_from_config('/etc/facedaemon.yaml')"."""
    config = load(Path(config_path))
    # One line per record on stderr; the daemon reads it and logs it as its own (journal under systemd).
    setup_logging(config.log_level, timestamps=False)
    cameras = tuple(camera.name for camera in config.cameras if camera.enabled)
    log.info("web app: cameras %s, runtime_dir %s", ", ".join(cameras), config.runtime_dir)
    auth = config.auth if config.auth_required else None
    if auth is None:
        log.warning("web app: no login required (http.listen %s, auth.enabled %s)", config.http.listen,
                    config.auth.enabled)
    return create_app(WebContext(runtime_dir=Path(config.runtime_dir), cameras=cameras, auth=auth,
                                 gallery=GallerySettings.from_config(config),
                                 unknowns_dir=Path(config.unknowns_dir), unknowns_save=config.unknowns.save,
                                 unknowns_retention=config.unknowns.retention,
                                 allowed_hosts=frozenset({config.http.host, *config.http.allowed_hosts}),
                                 history_db=history_paths.database(config) if config.history.enabled else None,
                                 device=config.device,
                                 identify_per_minute=config.http.identify_per_minute))


def _refuse_large_body() -> None:
    # Check the header before anything reads the body; the per-request limit also covers chunked bodies.
    limit = UPLOAD_MAX_CONTENT_LENGTH if request.endpoint in UPLOAD_ENDPOINTS else MAX_CONTENT_LENGTH
    request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        abort(413, description=f"request body too large: {length:,} bytes (limit {limit // 2**20} MiB)")


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


def _http_error(error: HTTPException) -> Response | HTTPException:
    if not _wants_json():
        return error
    response = jsonify({"error": error.name, "status": error.code, "detail": _without_paths(error.description)})
    response.status_code = error.code or 500
    return response


def _without_paths(text: str | None) -> str | None:
    """Error details name files relative to the configured folders, never by absolute path."""
    if not text:
        return text
    context = get_context(current_app)
    gallery = context.gallery
    folders = {"faces_dir": gallery and gallery.faces_dir, "cache_dir": gallery and gallery.cache_dir,
               "runtime_dir": context.runtime_dir, "unknowns dir": context.unknowns_dir}
    for key, folder in sorted(folders.items(), key=lambda item: -len(str(item[1] or ""))):
        if folder is not None:
            text = text.replace(str(folder), key)
    return text


def _unexpected_error(error: Exception) -> Response | HTTPException:
    if isinstance(error, HTTPException):
        return _http_error(error)
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError())
