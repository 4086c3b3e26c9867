"""Fuzzed config files (issue 25): random YAML trees, values and text through the real loader.

Every outcome is a Config or a ConfigError whose every problem names this file and says where: a key path or a
line. Never another exception (a traceback for the user). Examples: tests/fuzz_profiles.py (ci: 1,000).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from facedaemon.config import Config, ConfigError, load_text, models

BASE = Path("/srv/facedaemon/etc")  # need not exist: paths are resolved lexically
SOURCE = "fuzz.yaml"


def check(text: str | bytes, *, mapping: bool = False) -> None:
    """Load `text`; a ConfigError must name the file and, for a mapping at the top, where in it each problem is."""
    try:
        config = load_text(text, source=SOURCE, base_dir=BASE)
    except ConfigError as exc:
        assert str(exc) and exc.problems  # every error says something
        for problem in exc.problems:
            assert problem.file == SOURCE, problem
            assert problem.message, problem
            if mapping:
                assert problem.path or problem.line is not None, f"no key or line: {problem}"
    else:
        assert isinstance(config, Config)


# Every key of every section: random trees then hit the real validators, not only "unknown key".
_MODEL_KEYS = sorted({name for _, model in inspect.getmembers(models, inspect.isclass)
                      if issubclass(model, BaseModel) and model is not BaseModel for name in model.model_fields})
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["pattern", "0", "/dev/video0", "rtsp://u:p@h/x", "a.mp4", "127.0.0.1:80", "hog", "info", "2M",
                     "800k", "10s", "1h", "libx264", "tcp", "udp", "-1", "1e400", "..", "/", "~", "${X}", "\0"]),
)
_keys = st.one_of(st.sampled_from([*_MODEL_KEYS, "source", "kind", "uri", "x"]), st.text(max_size=8))
_yamlish = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=5),
    max_leaves=25,
)


def _near_valid(top: dict[str, object], cameras: dict[str, dict[str, object]], camera: dict[str, object]) -> dict:
    """A valid config with random keys and values added at the top, in its camera and as more cameras."""
    document: dict[str, object] = {"faces_dir": "f", "runtime_dir": "r",
                                   "cameras": {"ok": {"source": "pattern", **camera}}}
    document.update(top)
    if isinstance(document.get("cameras"), dict):
        document["cameras"] = {**document["cameras"], **cameras}
    return document


_TOKENS = ["a:", " ", "\n", "- ", "[", "]", "{", "}", ",", "&x ", "*x", "<<: ", "!!int ", "!!binary ",
           "!!python/name:x ", "'", '"', "#", "?", "|", ">", "0", "1e9", ".nan", "~", "cameras:", "source:",
           "faces_dir:", "  ", "\t", "%YAML 1.1\n", "---\n", "...\n", "\ufeff", "\\u0000"]

# (the file's text or bytes, whether its top level is a mapping)
_documents = st.one_of(
    st.text(max_size=300).map(lambda text: (text, False)),
    st.binary(max_size=300).map(lambda data: (data, False)),
    _yamlish.map(lambda tree: (yaml.safe_dump(tree), isinstance(tree, dict))),
    st.builds(_near_valid, st.dictionaries(_keys, _yamlish, max_size=4),
              st.dictionaries(st.text(min_size=1, max_size=8), st.dictionaries(_keys, _yamlish, max_size=4),
                              max_size=3),
              st.dictionaries(st.sampled_from(_MODEL_KEYS), _yamlish, max_size=4))
    .map(lambda tree: (yaml.safe_dump(tree), True)),
    st.lists(st.sampled_from(_TOKENS), max_size=40).map(lambda tokens: ("".join(tokens), False)),
)


@given(_documents)
def test_any_file_gives_a_config_or_errors_that_say_where(document: tuple[str | bytes, bool]) -> None:
    text, mapping = document
    check(text, mapping=mapping)
