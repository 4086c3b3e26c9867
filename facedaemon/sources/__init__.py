"""Where frames come from (daemon process, each camera's capture thread): RTSP cameras and video files decoded
by FFmpeg through PyAV, V4L2 cameras through OpenCV, and generated test patterns; one FrameSource per camera from its
config (factory.py). Every source hands out I420 frames (yuv.py).
"""
