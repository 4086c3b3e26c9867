"""Face math with no files and no processes: box geometry, the dlib boundary (engine), matching, confidence,
the negatives rule, photo quality, tracks and votes, crop cutting.

Run by the recognition worker (and the CLI/web when they check a photo). Imports nothing from gallery/, runtime/,
worker/ or pipeline/.
"""
