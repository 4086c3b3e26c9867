"""The daemon's Prometheus metrics, in a registry of its own (never the import-time global one)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.033, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)
CAMERA_PARTS = ("encoder", "capture")  # restarts counted per camera; worker, web and rtsp are daemon-wide
INFERENCE_BUCKETS = (0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0)


@dataclass
class DaemonMetrics:
    registry: CollectorRegistry
    frames_captured: Counter
    frames_output: Counter
    frames_dropped: Counter
    frame_latency: Histogram
    inference: Histogram
    faces_detected: Counter
    faces_recognized: Counter
    camera_up: Gauge
    restarts: Counter
    encoder_restarts: Counter
    worker_restarts: Counter
    events: Counter
    events_dropped: Counter
    event_sink_errors: Counter
    mqtt_connected: Gauge
    viewers: Gauge
    viewer_frames_sent: Counter
    viewer_frames_dropped: Counter
    person_labels: bool = False

    @classmethod
    def create(cls, *, person_labels: bool = False, process: bool = True) -> DaemonMetrics:
        registry = CollectorRegistry()
        if process:
            ProcessCollector(namespace="facedaemon", registry=registry)

        def counter(name: str, doc: str, labels: tuple[str, ...] = ("camera",)) -> Counter:
            return Counter(name, doc, labels, registry=registry)

        metrics = cls(
            registry=registry,
            frames_captured=counter("facedaemon_frames_captured", "Frames read from the camera."),
            frames_output=counter("facedaemon_frames_output", "Annotated frames written to the encoder."),
            frames_dropped=counter("facedaemon_frames_dropped",
                                   "Frames dropped on purpose, by stage (capture: a newer frame replaced it; "
                                   "encoder: ffmpeg down or stalled).", ("camera", "stage")),
            frame_latency=Histogram("facedaemon_frame_latency_seconds",
                                    "Capture to written-to-encoder time of each output frame.", ["camera"],
                                    buckets=LATENCY_BUCKETS, registry=registry),
            inference=Histogram("facedaemon_inference_seconds",
                                "Recognition worker time per analysed frame (detect + encode + match).",
                                ["camera"], buckets=INFERENCE_BUCKETS, registry=registry),
            faces_detected=counter("facedaemon_faces_detected", "Faces found by the detector, summed over frames."),
            faces_recognized=counter("facedaemon_faces_recognized",
                                     "Face tracks given a name (person='known' unless metrics.person_labels).",
                                     ("camera", "person")),
            camera_up=Gauge("facedaemon_camera_up", "1 while the camera delivers frames.", ["camera"],
                            registry=registry),
            restarts=Counter("facedaemon_restarts", "Restarts of each part the daemon owns, after it died or "
                             "stalled: part encoder, capture (per camera), worker, web, rtsp (camera \"\").",
                             ["part", "camera"], registry=registry),
            # The two older per-part names, deprecated (docs/operating.md): kept for dashboards users built on
            # them; the shipped dashboard and rules use facedaemon_restarts_total. count_restart feeds them too.
            encoder_restarts=counter("facedaemon_encoder_restarts", "Times the camera's ffmpeg was restarted."),
            worker_restarts=Counter("facedaemon_recognition_worker_restarts",
                                    "Times the recognition worker process was restarted.", registry=registry),
            # Events: per camera and kind (never per person); drops and errors per sink, so a dead webhook or
            # broker shows up on the dashboard instead of only in the log.
            events=counter("facedaemon_events", "Events emitted, by kind (recognised, left), before any sink.",
                           ("camera", "kind")),
            events_dropped=counter("facedaemon_events_dropped",
                                   "Events a sink lost, by reason (queue_full, failed: every attempt failed, "
                                   "not_connected, error: the sink raised).", ("sink", "reason")),
            event_sink_errors=counter("facedaemon_event_sink_errors",
                                      "Failed delivery attempts: webhook POSTs (retries included), MQTT connects, "
                                      "sink exceptions.", ("sink",)),
            mqtt_connected=Gauge("facedaemon_mqtt_connected", "1 while connected to the MQTT broker.", ["broker"],
                                 registry=registry),
            # Viewers per camera and path, frames summed over a camera's viewers: per-viewer labels would grow
            # without bound. path is "live" (the low-latency path; HLS is plain file serving in the web workers).
            viewers=Gauge("facedaemon_viewers", "Viewers connected, by path (live).", ["camera", "path"],
                          registry=registry),
            viewer_frames_sent=counter("facedaemon_viewer_frames_sent",
                                       "Frames sent to viewers, summed over the camera's viewers.",
                                       ("camera", "path")),
            viewer_frames_dropped=counter("facedaemon_viewer_frames_dropped",
                                          "Frames viewers did not get because they fell behind (each skips to "
                                          "the next keyframe), summed over the camera's viewers.",
                                          ("camera", "path")),
            person_labels=person_labels,
        )
        for part in ("worker", "web", "rtsp"):
            metrics.restarts.labels(part, "")
        return metrics

    def count_restart(self, part: str, camera: str = "") -> None:
        """One restart of a part (children.restarter.Restarter's on_restart): one metric for every part."""
        self.restarts.labels(part, camera).inc()
        if part == "encoder":
            self.encoder_restarts.labels(camera).inc()
        elif part == "worker":
            self.worker_restarts.inc()

    def live_viewers(self, camera: str, count: int) -> None:
        self.viewers.labels(camera, "live").set(count)

    def live_frames(self, camera: str, sent: int, dropped: int) -> None:
        if sent:
            self.viewer_frames_sent.labels(camera, "live").inc(sent)
        if dropped:
            self.viewer_frames_dropped.labels(camera, "live").inc(dropped)

    def add_camera(self, camera: str) -> None:
        """Create a camera's series at zero so dashboards show it before the first event."""
        for part in CAMERA_PARTS:
            self.restarts.labels(part, camera)
        for metric in (self.frames_captured, self.frames_output, self.faces_detected, self.encoder_restarts):
            metric.labels(camera)
        for stage in ("capture", "encoder"):
            self.frames_dropped.labels(camera, stage)
        self.frame_latency.labels(camera)
        self.inference.labels(camera)
        self.camera_up.labels(camera).set(0)
        self.viewers.labels(camera, "live").set(0)
        for metric in (self.viewer_frames_sent, self.viewer_frames_dropped):
            metric.labels(camera, "live")

    def remove_camera(self, camera: str) -> None:
        """Every series of the camera, whatever its other labels (stage, path, part, person, kind)."""
        for metric in (self.frames_captured, self.frames_output, self.faces_detected, self.encoder_restarts,
                       self.frame_latency, self.inference, self.camera_up, self.frames_dropped, self.viewers,
                       self.viewer_frames_sent, self.viewer_frames_dropped, self.restarts, self.faces_recognized,
                       self.events):
            metric.remove_by_labels({"camera": camera})  # prometheus-client >= 0.24

    def person_label(self, name: str, known: bool) -> str:
        if not known:
            return "unknown"
        return name if self.person_labels else "known"
