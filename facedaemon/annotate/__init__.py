"""Drawing on frames in place (daemon process, each camera's output thread): boxes and labels (draw.py), blur of
unknown faces (blur.py). Pure given the frame and the faces; geometry comes from faces/boxes.py.
"""
