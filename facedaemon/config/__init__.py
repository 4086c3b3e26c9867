"""Configuration: typed models and the YAML loader (no heavy imports, no work at import time).

Importing the package loads the models only: PyYAML and ssl come with the first file loaded.
"""

from facedaemon.config.errors import ConfigError, Problem
from facedaemon.config.load import classify_source, load, load_text
from facedaemon.config.models import (
    CAMERA_NAME,
    CameraConfig,
    Config,
    EncoderConfig,
    HlsConfig,
    HttpConfig,
    LiveConfig,
    MetricsConfig,
    RecognitionConfig,
    SourceConfig,
    SourceKind,
)

__all__ = [
    "CAMERA_NAME",
    "CameraConfig",
    "Config",
    "ConfigError",
    "EncoderConfig",
    "HlsConfig",
    "HttpConfig",
    "LiveConfig",
    "MetricsConfig",
    "Problem",
    "RecognitionConfig",
    "SourceConfig",
    "SourceKind",
    "classify_source",
    "load",
    "load_text",
]
