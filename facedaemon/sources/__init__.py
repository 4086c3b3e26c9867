"""Where frames come from (daemon process, each camera's capture thread): V4L2 and RTSP cameras through OpenCV,
video files, and generated test patterns; one FrameSource per camera from its config (factory.py).
"""
