"""Where frames come from (daemon process, each camera's capture thread): RTSP cameras and video files decoded
by an ffmpeg child per camera (decode.py), V4L2 cameras read through OpenCV (capture.py), and generated test
patterns; one FrameSource per camera from its config (factory.py). Every source hands out I420 frames (yuv.py).
"""
