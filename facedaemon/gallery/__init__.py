"""The faces_dir store: one folder of photos per person, negatives, unknown crops, the encodings cache and the
gallery report. Shared by the recognition worker (load, watch), the CLI (enroll, forget, identify) and the web
(listing, edit, whose photo checks are in checks.py); GallerySettings carries the five settings every operation needs
and is the one argument every entry point takes for them.
"""
