"""Configuration: typed models and the YAML loader (no heavy imports, no work at import time)."""

from facedaemon.config.load import ConfigError, Problem, classify_source, load, load_text
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
