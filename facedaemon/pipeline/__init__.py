"""One camera's data plane, run in the daemon process: capture and output threads, recognition pacing, box motion.

Frames flow sources -> pipeline -> annotate -> outputs; recognition is reached through the small Recognizer
protocol in camera.py. Owns no files.
"""
