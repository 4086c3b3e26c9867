"""The faces_dir store: one folder of photos per person, negatives, unknown crops, the encodings cache and the
gallery report. Shared by the recognition worker (load, watch), the CLI (enroll, forget, identify) and the web
(listing, edit); GallerySettings carries the five settings every operation needs.
"""
