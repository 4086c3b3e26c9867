import pytest

from facedaemon.redact import mask_credentials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rtsp://admin:secret@10.0.0.2:554/stream1", "rtsp://***@10.0.0.2:554/stream1"),
        ("rtsp://admin@cam.local/live", "rtsp://***@cam.local/live"),
        ("http://u:p@host/x", "http://***@host/x"),
        ("rtsps://u:p@host", "rtsps://***@host"),
        ("rtsp://:only-pass@host/", "rtsp://***@host/"),
        ("rtsp://u:p@ss:w@rd@host/x", "rtsp://***@host/x"),  # unescaped '@' in the password
        ("rtsp://u:pa/ss@host/x", "rtsp://***@host/x"),  # unescaped '/' in the password
        ("rtsp://u:p%40x@host", "rtsp://***@host"),
        ("[rtsp @ 0x55d0] rtsp://u:p@h:554/s: 401 Unauthorized",
         "[rtsp @ 0x55d0] rtsp://***@h:554/s: 401 Unauthorized"),
        ("open 'rtsp://u:p@h/a' failed", "open 'rtsp://***@h/a' failed"),
        ('url="rtsp://u:p@h/a" user@example.org', 'url="rtsp://***@h/a" user@example.org'),
        ("rtsp://a:b@h1/x and rtsp://c:d@h2/y", "rtsp://***@h1/x and rtsp://***@h2/y"),
        ("line1 rtsp://a:b@h1\nline2 http://c@h2", "line1 rtsp://***@h1\nline2 http://***@h2"),
    ],
)
def test_masks_userinfo(text: str, expected: str) -> None:
    assert mask_credentials(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "rtsp://10.0.0.2:554/stream1",
        "/dev/video0",
        "mail me at someone@example.org",
        "[hls @ 0x5600] Opening 'seg_00001.m4s' for writing",
        "rtsp://***@host/x",
    ],
)
def test_leaves_text_without_credentials_alone(text: str) -> None:
    assert mask_credentials(text) == text


def test_idempotent() -> None:
    once = mask_credentials("rtsp://u:p@h/x")
    assert mask_credentials(once) == once
