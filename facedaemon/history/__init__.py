"""The visit history: who was seen, when and where, kept in SQLite under state_dir (docs/history.md).

visits.py turns recognition results into visits (pure); store.py is the SQLite file (schema, migrations, queries);
writer.py is the daemon's one writer thread; recorder.py ties them to the daemon; shots.py is the recognition
worker's side (a small thumbnail of each track's best shot); csv_export.py and query.py serve the web app, which
opens the file read-only. Nothing here imports heavy libraries at import time.
"""
