"""The live player's MSE helpers (mse.js, in node) on a stream the real ffmpeg writes with the daemon's live tee output:
the boxes come out whole whatever the chunking, the prft wall clock is now, the timescale is the track's."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from facedaemon.children.ffmpeg import find_ffmpeg
from facedaemon.outputs.ffmpeg_args import _live_slave
from facedaemon.outputs.live.boxes import FragmentSplitter
from tests.realparts import require_program

MSE_JS = Path(__file__).resolve().parents[2] / "facedaemon" / "web" / "static" / "mse.js"
SCRIPT = """
import { readFileSync } from 'node:fs';
const p = await import(process.argv[1]);
const data = new Uint8Array(readFileSync(process.argv[2]));
const reader = new p.BoxReader();
const boxes = [];
for (let at = 0; at < data.length; at += 777) boxes.push(...reader.push(data.subarray(at, at + 777)));
const init = data.subarray(0, boxes[0].bytes.length + boxes[1].bytes.length);
const prft = p.parsePrft(boxes.find((box) => box.type === 'prft').bytes);
console.log(JSON.stringify({types: boxes.map((box) => box.type), total: boxes.reduce((n, b) => n + b.bytes.length, 0),
                            timescale: p.timescaleFromInit(init), prft}));
"""


def test_live_helpers_on_a_real_ffmpeg_stream(tmp_path: Path) -> None:
    node = require_program("node", "nodejs")
    clip = tmp_path / "live.mp4"
    subprocess.run([find_ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=320x240:rate=30", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
                    "-fps_mode", "passthrough", "-enc_time_base", "1/90000", "-map", "0:v",
                    "-f", "tee", _live_slave(str(clip))],
                   check=True, timeout=60)
    out = json.loads(subprocess.run([node, "--input-type=module", "-e", SCRIPT, MSE_JS.as_uri(), str(clip)], check=True,
                                    capture_output=True, text=True, timeout=60).stdout)
    fragments = [p for p in FragmentSplitter().feed(clip.read_bytes()) if p.kind == "fragment"]
    assert out["types"][:2] == ["ftyp", "moov"]
    assert out["types"][2:5] == ["prft", "moof", "mdat"] and out["types"].count("mdat") == len(fragments) >= 29
    assert out["total"] == clip.stat().st_size, "every byte is in a whole box"
    assert out["timescale"] == 90000
    assert abs(out["prft"]["wallMs"] / 1000 - time.time()) < 60, out["prft"]
