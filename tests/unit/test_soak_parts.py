"""The soak's RSS per part of the daemon's tree (devtools/soak.py): which part a process is, and the growth of each
part with whether it was restarted; the chaos judge holds only never-restarted parts to the flat limit."""

from __future__ import annotations

import os
from pathlib import Path

from devtools.chaos_plan import Comeback, Outcome, judge, table
from devtools.soak import PARTS, Sample, part_growth, part_of, sample

ROOT = 100


def test_each_process_of_the_tree_is_named_by_its_part():
    python = "/x/.venv/bin/python"
    assert part_of(ROOT, ROOT, 1, f"{python} -m facedaemon run") == "main"
    assert part_of(201, ROOT, ROOT, f"{python} -m gunicorn --config x facedaemon.web.app:create") == "web_master"
    assert part_of(202, ROOT, 201, f"{python} -m gunicorn --config x facedaemon.web.app:create") == "web_workers"
    assert part_of(203, ROOT, ROOT, f"{python} -c from multiprocessing.spawn import spawn_main; "
                                    "spawn_main(tracker_fd=5, pipe_handle=7) --multiprocessing-fork") == "worker"
    assert part_of(204, ROOT, ROOT, f"{python} -c from multiprocessing.resource_tracker import main;main(4)") == "other"
    assert part_of(205, ROOT, ROOT, "/usr/bin/python3 /x/facedaemon/outputs/rtsp/sidecar_gst.py") == "rtsp_sidecar"
    assert part_of(206, ROOT, ROOT, "/x/ffmpeg -f rawvideo -i - /run/door/index.m3u8") == "encoders"
    assert part_of(207, ROOT, ROOT, "/x/ffmpeg -i /tmp/entry.mp4 -f rawvideo pipe:") == "decoders"
    assert part_of(208, ROOT, ROOT, "/usr/bin/python3 /x/tests/e2e/rtsp_camera.py") == "camera_server"
    assert set(PARTS) >= {"main", "worker", "web_master", "web_workers", "encoders", "decoders", "rtsp_sidecar"}


def test_a_live_tree_is_sampled_per_part_and_the_parts_add_up_to_the_tree(tmp_path: Path):
    current = sample(os.getpid(), tmp_path, 0.0)
    assert current.parts["main"] > 0 and current.part_pids["main"] == frozenset({os.getpid()})
    assert abs(sum(current.parts.values()) - current.rss_mib) < 0.5


def at(i: float, main: float, worker: float, worker_pid: int) -> Sample:
    return Sample(i, main + worker, 50, 40, 8, 3, {"main": main, "worker": worker},
                  {"main": frozenset({ROOT}), "worker": frozenset({worker_pid})})


def test_a_part_restarted_in_the_compared_samples_is_marked_and_a_steady_one_is_not():
    # main grows 10 %; the worker is restarted at sample 10 (a new pid, small again)
    samples = [at(i, 300.0 + 3.0 * (i >= 8), 200.0 if i < 10 else 100.0, 1 if i < 10 else 2) for i in range(16)]
    grown = part_growth(samples)
    assert grown["main"][1] is True and abs(grown["main"][0] - 0.01) < 1e-9
    assert grown["worker"] == (-0.5, False)
    steady = part_growth([at(i, 300.0, 200.0, 1) for i in range(16)])
    assert steady == {"main": (0.0, True), "worker": (0.0, True)}


def outcome(flat: dict, parts: dict) -> Outcome:
    return Outcome([Comeback("worker", 30.0, "w", 2.0)], {"worker": 1.0}, [], 0, [], 4,
                   {"mqtt": 0, "webhook": 0}, flat, parts)


def test_the_main_process_is_held_to_the_flat_limit_and_restarted_parts_and_the_tree_are_reported():
    noisy = outcome({"rss_mib": 0.032, "threads": 0.0}, {"main": (0.004, True), "worker": (0.3, False)})
    assert judge(noisy) == []
    text = table(noisy)
    assert "| rss_mib after warm-up, whole tree | +3.2 % | reported: parts were restarted |" in text
    assert "| rss_mib after warm-up: main | +0.4 % | within ±3 % |" in text
    assert "| rss_mib after warm-up: worker | +30.0 % | reported: restarted by the faults |" in text
    leaking = outcome({"rss_mib": 0.01}, {"main": (0.035, True), "worker": (0.0, False)})
    assert judge(leaking) == ["rss_mib of main changed +3.5 % after warm-up (limit ±3 %)"]
    # nothing restarted: the tree's sum is judged as before
    assert judge(outcome({"rss_mib": 0.035}, {"main": (0.0, True)})) == [
        "rss_mib changed +3.5 % after warm-up (limit ±3 %)"]
