#!/usr/bin/env python3
"""Password guesses an attacker gets against the real gunicorn (3 workers by default), from rotating loopback
source addresses (127.0.0.2 ... 127.0.0.N), with C connections in parallel, for S seconds (bounded).

  .venv/bin/python scripts/benchmarks/login_attempts.py --workers 3 --addresses 8 --seconds 30

Prints the answers by status: 401 = a password was really checked, 429 = refused without checking.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from werkzeug.security import generate_password_hash

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from devtools.web_server import web_server  # noqa: E402


def attack(port: int, addresses: int, seconds: float, parallel: int) -> Counter:
    counts: Counter = Counter()
    lock = threading.Lock()
    end = time.monotonic() + seconds
    header = "Basic " + base64.b64encode(b"alice:not-the-password").decode()

    def run(index: int) -> None:
        n = index
        while time.monotonic() < end:
            source = f"127.0.0.{2 + n % addresses}"
            n += parallel
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                                        source_address=(source, 0))
                connection.request("GET", "/api/cameras", headers={"Authorization": header})
                status = connection.getresponse().status
                connection.close()
            except OSError:
                status = "error"
            with lock:
                counts[status] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(parallel)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return counts


def measure(workers: int, addresses: int, seconds: float, parallel: int) -> dict:
    auth = {"enabled": True, "users": {"alice": generate_password_hash("the-real-password-123")}}
    with tempfile.TemporaryDirectory() as tmp, web_server(Path(tmp), auth=auth, http={"workers": workers}) as web:
        started = time.monotonic()
        counts = attack(web.port, addresses, seconds, parallel)
        took = time.monotonic() - started
    checked = counts.get(401, 0)
    return {"workers": workers, "addresses": addresses, "seconds": round(took, 1),
            "answers": {str(k): v for k, v in sorted(counts.items(), key=str)},
            "password_checks_per_minute": round(checked * 60 / took, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--addresses", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    print(json.dumps(measure(args.workers, args.addresses, args.seconds, args.parallel), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
