"""The live page: one player, state line and faces list per camera (filled in by static/cameras.js)."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from facedaemon.web.context import get_context

blueprint = Blueprint("pages", __name__)


@blueprint.get("/")
def index() -> str:
    context = get_context(current_app)
    return render_template("index.html", cameras=context.cameras)
