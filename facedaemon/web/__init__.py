"""The web app (gunicorn worker processes): page, HLS files, the live stream, JSON API, health, metrics, faces and
unknowns screens.

Reads runtime_dir through runtime/ and edits faces_dir through gallery/; imports only config, gallery, runtime and
the bottom helpers, never the daemon's worker, pipeline or outputs. context.py is what every blueprint needs.
"""
