"""The real daemon with a webhook nobody answers: the event, the failed POSTs and the drop show at /metrics."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from devtools.daemon import write_config
from devtools.processes import free_port
from tests.e2e.media import make_entry_clip, obama_gallery

pytestmark = pytest.mark.e2e


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def metric(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float | None:
    return found.get((name, frozenset(labels.items())))


def test_a_dead_webhook_shows_as_errors_and_drops_at_metrics(tmp_path, shared_data, run_daemon):
    faces = obama_gallery(shared_data, tmp_path / "faces")
    clip = make_entry_clip(shared_data, tmp_path / "entry.mp4", seconds=6.0, appear_at=1.0)
    dead = f"http://127.0.0.1:{free_port()}/hook?token=do-not-log"  # nothing listens there
    config_path, port = write_config(tmp_path, {"door": {"source": str(clip.path), "loop": True}}, faces,
                                     events={"webhook": {"url": dead, "timeout": 1}})
    daemon = run_daemon.start(tmp_path, config_path, port, ready=None)

    def dropped():
        found = samples(daemon.get("/metrics").text)
        return found if (metric(found, "facedaemon_events_dropped_total", sink="webhook", reason="failed")
                         or 0) >= 1 else None

    # Obama arrives within seconds; 4 attempts 0.5 + 1 + 2 s apart, then the drop; /metrics refreshes each second.
    found = daemon.wait_for(dropped, 180, "a dropped webhook event at /metrics")
    errors = metric(found, "facedaemon_event_sink_errors_total", sink="webhook")
    recognised = metric(found, "facedaemon_events_total", camera="door", kind="recognised")
    assert errors is not None and errors >= 4 and recognised is not None and recognised >= 1, (errors, recognised)
    assert metric(found, "facedaemon_events_dropped_total", sink="webhook", reason="queue_full") == 0
    assert metric(found, "facedaemon_event_sink_errors_total", sink="log") == 0
    log = daemon.log()
    assert "events: webhook http://127.0.0.1" in log and "dropped an event" in log
    assert "do-not-log" not in log and "Traceback" not in log
    daemon.stop()
