"""The chaos soak's pure parts: the seeded schedule and the judge of its targets (devtools/chaos_plan.py)."""

from __future__ import annotations

from datetime import datetime

from devtools.chaos_plan import (
    ALONE,
    KINDS,
    Comeback,
    Outcome,
    api_answer,
    encoder_cameras,
    judge,
    log_time,
    missing_events,
    schedule,
    table,
)


def test_the_same_seed_gives_the_same_schedule_and_another_seed_another():
    assert schedule(7, 40) == schedule(7, 40)
    assert schedule(7, 40) != schedule(8, 40)


def test_every_kind_comes_before_any_comes_twice():
    for seed in range(50):
        seen = [kind for step in schedule(seed, 12) for kind in step.kinds]
        assert sorted(seen[:len(KINDS)]) == sorted(KINDS), (seed, seen)


def test_a_short_run_meets_every_kind():
    kinds = {kind for step in schedule(3, 10) for kind in step.kinds}
    assert kinds == set(KINDS)


def test_some_faults_come_together_never_the_disk_and_never_one_kind_twice():
    steps = schedule(11, 500)
    together = [step for step in steps if len(step.kinds) > 1]
    assert 0.2 * len(steps) < len(together) < 0.5 * len(steps)
    assert any(len(step.kinds) == 3 for step in steps)
    for step in steps:
        assert len(set(step.kinds)) == len(step.kinds)
        assert not (ALONE & set(step.kinds)) or len(step.kinds) == 1, step


def test_holds_and_pauses_stay_in_their_ranges():
    for step in schedule(5, 200):
        assert 2.0 <= step.hold <= 16.0 and 2.0 <= step.pause <= 8.0 and step.pick >= 0


def test_an_encoder_kill_never_hits_a_camera_another_fault_of_its_step_holds_down_or_replaces():
    assert encoder_cameras(("ffmpeg",)) == ("door", "ipcam", "pattern")
    assert encoder_cameras(("ffmpeg", "sighup")) == ("door", "ipcam")
    # The 20-minute run's 10.1 s: ipcam's encoder waits for frames from its camera server, held down in that step.
    assert encoder_cameras(("camera_server", "ffmpeg", "sighup")) == ("door",)
    assert encoder_cameras(("ffmpeg", "camera_server")) == ("door", "pattern")


def test_a_forget_whose_first_answer_was_lost_to_a_fault_is_done_when_the_retry_finds_nobody():
    # The one-hour run's death: gunicorn's master was killed while it served the DELETE; the retry got 404.
    assert api_answer(404, 200, unanswered_before=True) == "done"
    assert api_answer(404, 200, unanswered_before=False) == "problem"  # never enrolled: a real loss
    assert api_answer(200, 200, False) == "done" and api_answer(201, 201, False) == "done"
    assert api_answer(None, 200, False) == api_answer(502, 201, False) == api_answer(409, 200, True) == "retry"
    assert api_answer(400, 201, True) == "problem" and api_answer(404, 201, True) == "problem"


def clean(**changes) -> Outcome:
    outcome = Outcome(comebacks=[Comeback("ffmpeg", 10.0, "door encoder", 3.2), Comeback("worker", 30.0, "w", 6.0),
                                 Comeback("broker", 50.0, "down 4 s", 1.1)],
                      restarts_counted={"encoder": 1.0, "worker": 1.0}, orphans=[], tracebacks=0,
                      enrolments_lost=[], events_sent=12, events_lost={"mqtt": 0, "webhook": 0},
                      flat={"rss_mib": 0.012, "open_files": -0.01, "threads": 0.0})
    for name, value in changes.items():
        setattr(outcome, name, value)
    return outcome


def test_a_clean_run_meets_every_target():
    assert judge(clean()) == []


def test_each_target_missed_is_named():
    assert "came back after 10.5 s" in judge(clean(comebacks=[Comeback("sidecar", 5.0, "rtsp", 10.5)]))[0]
    assert "never came back" in judge(clean(comebacks=[Comeback("ffmpeg", 5.0, "door", None)]))[0]
    assert judge(clean(restarts_counted={"encoder": 1.0, "worker": 0.0})) == [
        'restarts_total{part="worker"} rose by 0, the faults caused 1']
    assert "1 process(es) left" in judge(clean(orphans=["123 ffmpeg -i x"]))[0]
    assert judge(clean(tracebacks=2)) == ["2 traceback(s) in the logs"]
    assert judge(clean(enrolments_lost=["Chaos GEM 3"])) == ["enrolments lost: ['Chaos GEM 3']"]
    assert judge(clean(events_lost={"mqtt": 2, "webhook": 0})) == ["mqtt: 2 of 12 events never arrived"]
    assert "rss_mib changed +3.5 %" in judge(clean(flat={"rss_mib": 0.035}))[0]
    assert "threads changed -4.0 %" in judge(clean(flat={"threads": -0.04}))[0]


def test_enrolments_must_be_done_but_are_not_held_to_the_comeback_limit():
    assert judge(clean(comebacks=[Comeback("enrol", 5.0, "enrol 'A'", 14.0)])) == []
    assert "never came back" in judge(clean(comebacks=[Comeback("forget", 5.0, "forget 'A'", None)]))[0]
    assert "| comeback: enrol | 1 faults, median 14.0 s, worst 14.0 s | done |" in table(
        clean(comebacks=[Comeback("enrol", 5.0, "enrol 'A'", 14.0)]))


def test_more_restarts_than_kills_are_fine_and_unjudged_flatness_is_not_a_miss():
    assert judge(clean(restarts_counted={"encoder": 3.0, "worker": 2.0, "capture": 1.0}, flat={})) == []


def test_the_table_shows_each_kind_each_part_and_each_target():
    text = table(clean(comebacks=[Comeback("ffmpeg", 1.0, "a", 2.0), Comeback("ffmpeg", 9.0, "b", 4.0),
                                  Comeback("ffmpeg", 20.0, "c", None)]))
    assert "| comeback: ffmpeg | 3 faults, median 3.0 s, worst 4.0 s, 1 never | ≤ 10 s |" in text
    assert '| restarts_total{part="encoder"} | +1 | ≥ 3 (the kills) |' in text
    assert '| restarts_total{part="worker"} | +1 | ≥ 0 (the kills) |' in text
    assert "| events lost: mqtt | 0 of 12 | 0 |" in text and "| rss_mib after warm-up, whole tree | +1.2 % |" in text


LOG = ("2026-12-06 18:53:58,075 WARNING x: recognition: worker (pid 5727) exited with code -9; restarting in 0.5 s\n"
       "2026-12-06 18:53:58,500 INFO x: recognition: ready, 2 people from 2 images (0 skipped)\n"
       "2026-12-06 18:53:59,424 INFO x: recognition: worker started (pid 7385)\n"
       "2026-12-06 18:56:00,937 INFO x: recognition: ready, 2 people from 2 images (0 skipped)\n")


def test_log_time_finds_the_needles_in_order_from_the_start_and_reads_the_lines_time():
    ready = datetime(2026, 12, 6, 18, 56, 0, 937000).timestamp()
    assert log_time(LOG, 0, "worker started", "recognition: ready") == ready  # not the ready before the start
    assert log_time(LOG, LOG.index("2026-12-06 18:53:58,500"), "recognition: ready") == ready - 122.437
    assert log_time(LOG, len(LOG), "recognition: ready") is None
    assert log_time(LOG, 0, "worker started", "worker started") is None
    assert log_time("no time here: recognition: ready\n", 0, "recognition: ready") is None


def test_missing_events_names_the_logged_events_a_sink_never_got():
    sink = "INFO facedaemon.events.sinks: camera door: Obama"
    log = (f"2026-12-06 19:11:23,329 {sink} recognised (track 6, confidence 95%)\n"
           "2026-12-06 19:11:26,153 INFO facedaemon.daemon.arbiter: reload: restart camera(s) door; restart events\n"
           f"2026-12-06 19:11:27,298 {sink} left (track 7, confidence 95%)\n")
    received = [{"camera": "door", "event": "recognised", "track": 6, "time": 1.0}]
    assert missing_events(log, received) == ["2026-12-06 19:11:27,298 door left track 7"]
    assert missing_events(log, [*received, {"camera": "door", "event": "left", "track": 7}]) == []


def test_a_needle_with_its_logger_skips_an_exit_line_quoting_the_parts_last_output():
    log = ("2026-12-06 19:34:14,114 ERROR facedaemon.outputs.rtsp.server: rtsp: server exited with -9; restarting in "
           "1 s; its last output: camera ipcam: RTSP serving rtsp://127.0.0.1:47629/ipcam\n"
           "2026-12-06 19:34:15,932 INFO facedaemon.outputs.rtsp.server: camera ipcam: RTSP serving rtsp://x/ipcam\n")
    serving = datetime(2026, 12, 6, 19, 34, 15, 932000).timestamp()
    exited = datetime(2026, 12, 6, 19, 34, 14, 114000).timestamp()
    assert log_time(log, 0, "camera ipcam: RTSP serving") == exited  # the exit line: a comeback of 0 s
    assert log_time(log, 0, "rtsp.server: camera ipcam: RTSP serving") == serving
