#!/usr/bin/env python3
"""Peak RSS of the real gunicorn worker while 8 clients each upload 4 decompression bombs (16-bit PNG, ~80 KB,
40 megapixels), then one real photo enrolment for comparison (loopback, bounded).

  .venv/bin/python scripts/benchmarks/upload_bombs.py [--photo PHOTO]  (default: images/obama.jpg of the shared photos)
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools import shared_data  # noqa: E402
from devtools.processes import peak_rss_mb  # noqa: E402
from devtools.uploads import sixteen_bit_bomb  # noqa: E402
from devtools.web_server import web_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photo", type=Path, default=shared_data() / "images" / "obama.jpg")
    args = parser.parse_args()
    bomb = sixteen_bit_bomb()
    with tempfile.TemporaryDirectory() as tmp, web_server(Path(tmp)) as web:
        (worker,) = web.worker_pids()
        before = peak_rss_mb(worker)

        def send(i: int):
            files = [("images", (f"b{i}-{k}.png", bomb, "image/png")) for k in range(4)]
            return web.request("POST", f"/api/faces/P{i}", files=files)

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(send, range(8)))
        took = time.monotonic() - started
        after_bombs = peak_rss_mb(worker)
        photo = web.request("POST", "/api/faces/Real", files={"images": ("a.jpg", args.photo.read_bytes())})
        result = {"bomb_bytes": len(bomb), "statuses": sorted({r.status_code for r in responses}),
                  "detail": responses[0].json().get("detail"), "seconds_for_32_bombs": round(took, 2),
                  "worker_peak_rss_mb_at_start": round(before, 1),
                  "worker_peak_rss_mb_after_bombs": round(after_bombs, 1),
                  "real_enrol_status": photo.status_code,
                  "worker_peak_rss_mb_after_a_real_enrol": round(peak_rss_mb(worker), 1)}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
