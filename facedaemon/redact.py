"""Hide credentials embedded in URLs before text reaches a log, a status file or a web page."""

from __future__ import annotations

import re

# scheme://userinfo@ — userinfo runs to the last '@' before whitespace or a quote, so a password holding
# unescaped '/', ':' or '@' is still hidden whole. The price is over-masking a rare '@' in a path, which is safe.
_USERINFO = re.compile(r"""(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^\s"'<>]*@""")


def mask_credentials(text: str) -> str:
    """Replace the user[:password] part of every scheme://user:pass@host (or scheme://user@host) with ***."""
    return _USERINFO.sub(lambda match: f"{match['scheme']}***@", text)
