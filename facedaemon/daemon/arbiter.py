"""The daemon's main loop: starts every stage, checks them each tick, stops them all within a deadline.

Signal handlers only enqueue the signal; the loop does the work. One place to read what happens when.
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import signal
import threading
import time
from pathlib import Path

from facedaemon.config import ConfigError, load
from facedaemon.config.models import Config
from facedaemon.daemon import systemd
from facedaemon.daemon.housekeeping import HeapTrim, UnknownsSweep
from facedaemon.daemon.reload import ReloadPlan, plan_reload, plan_start, plan_stop
from facedaemon.daemon.web_server import WebServer
from facedaemon.daemon.wiring import Wiring
from facedaemon.events.hub import EventHub
from facedaemon.gallery.layout import GalleryError, scan
from facedaemon.history.recorder import HistoryRecorder
from facedaemon.metrics.registry import DaemonMetrics
from facedaemon.outputs.live.hub import LiveHub
from facedaemon.outputs.rtsp.server import RtspServer
from facedaemon.pipeline.camera import CameraPipeline
from facedaemon.runtime.hls import remove_hls_dir
from facedaemon.runtime.status import CameraStatus, DaemonStatus, remove_status, write_metrics, write_status
from facedaemon.worker.client import RecognitionWorker

log = logging.getLogger(__name__)

TICK = 0.25
METRICS_EVERY = 1.0
STOP_DEADLINE = 8.0  # below systemd's TimeoutStopSec=10 and the 10 s docs/operating.md promises


class Daemon:
    def __init__(self, config: Config, config_path: Path, *, web: bool = True, wiring: Wiring | None = None,
                 metrics: DaemonMetrics | None = None) -> None:
        """web=False: no gunicorn (bench, tests); wiring: what builds the parts (tests pass fakes)."""
        self.config = config
        self.config_path = config_path
        self.metrics = metrics or DaemonMetrics.create(person_labels=config.metrics.person_labels)
        self._wiring = wiring or Wiring()
        self.cameras: dict[str, CameraPipeline] = {}
        self.worker: RecognitionWorker | None = None
        self.rtsp: RtspServer | None = None  # when a camera has rtsp enabled
        self.events: EventHub | None = None  # when a sink (log, webhook, MQTT) is configured
        self.web: WebServer | None = None  # started (and replaced on reload) by converge
        self.live: LiveHub | None = None  # the low-latency path's fan-out, for the daemon's lifetime
        self._serve_web = web
        self._signals: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._started = time.time()
        self._ready_sent = False
        self._status_sent = ""
        self._systemd_env: dict[str, str] = {}  # NOTIFY_SOCKET etc., taken from os.environ by run()
        self._status_failing = False
        self._next_watchdog = 0.0
        self._unknowns = UnknownsSweep()  # unknown-face crops past retention
        self._heap = HeapTrim()  # free pages in the heap's holes back to the system, once a minute
        self._gallery_seen: dict | None = None  # the worker's gallery summary the events were last told
        self.history: HistoryRecorder | None = None  # the visit history (history.enabled)
        self._history_seen: dict | None = None  # the gallery summary the history was last told

    # -- start -------------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.config.runtime_dir.mkdir(parents=True, exist_ok=True)
        self._start_live()
        self._start_history()
        for camera in self.config.cameras:
            if not camera.enabled:
                log.info("camera %s: disabled in the config", camera.name)
        self.converge(self.config, plan_start(self.config))

    def _start_live(self) -> None:
        hub = self._wiring.live(self.config, self.metrics)
        try:
            hub.start()
        except OSError as exc:  # the page falls back to HLS by itself
            log.error("live: cannot listen on %s: %s; the page plays HLS only", hub.path, exc)
            return
        self.live = hub

    def _start_worker(self) -> None:
        if self.worker is not None:  # a reload: the cameras keep this client; only its child is replaced
            self.worker.reconfigure(self.config)
            return
        self.worker = self._wiring.worker(self.config, on_result=self._on_result,
                                          on_restart=self.metrics.count_restart)
        self.worker.on_shot = self._on_shot
        self.worker.start()

    def _start_history(self) -> None:
        self.history = self._wiring.history(self.config, self.metrics)
        self._history_seen = None  # a new recorder hears the gallery again
        if self.history is not None:
            self.history.start()

    def _on_shot(self, thumb) -> None:
        history = self.history
        if history is not None:
            history.on_shot(thumb)

    def _start_events(self) -> None:
        self.events = self._wiring.events(self.config, self.metrics, grab=self._next_frame)
        self._gallery_seen = None
        if self.events is not None:
            self.events.start()

    def _next_frame(self, camera: str, callback) -> bool:
        pipeline = self.cameras.get(camera)
        return pipeline is not None and pipeline.next_frame(callback)

    def _gallery_to_events(self) -> None:
        """A gallery the worker (re)loaded tells the events who is known: forgotten people leave the sinks."""
        gallery = self.worker.gallery if self.worker is not None else None
        if self.events is None or gallery is None or gallery is self._gallery_seen:
            return
        self._gallery_seen = gallery
        try:  # only someone with no photo left is forgotten: not a person whose photos failed to load or wait
            on_disk = {person for person, _ in scan(self.config.faces_dir, self.config.encodings_cache_dir)}
        except (GalleryError, OSError) as exc:
            log.warning("events: cannot list %s (%s); keeping the known people as they were",
                        self.config.faces_dir, exc)
            return
        self.events.set_people(set(gallery.get("people", ())) | on_disk)

    def _gallery_to_history(self) -> None:
        """Forget in the history whoever left the gallery (the same rule as the events)."""
        gallery = self.worker.gallery if self.worker is not None else None
        if self.history is None or gallery is None or gallery is self._history_seen or gallery.get("pending"):
            return
        self._history_seen = gallery
        try:
            on_disk = {person for person, _ in scan(self.config.faces_dir, self.config.encodings_cache_dir)}
        except (GalleryError, OSError) as exc:
            log.warning("history: cannot list %s (%s); forgetting nobody", self.config.faces_dir, exc)
            return
        self.history.set_people(set(gallery.get("people", ())) | on_disk)

    def _start_rtsp(self) -> None:
        self.rtsp = self._wiring.rtsp(self.config, on_restart=self.metrics.count_restart)
        self.rtsp.start()  # False: GStreamer missing, logged once; cameras then encode for HLS only

    def _make_pipeline(self, camera) -> CameraPipeline:
        encoder = self._wiring.encoder(self.config, camera,
                                       on_restart=lambda: self.metrics.count_restart("encoder", camera.name),
                                       h264_sink=self.rtsp.feed(camera.name) if self.rtsp is not None else None,
                                       live_sink=self.live.feed(camera.name) if self.live is not None else None)
        source_factory = functools.partial(self._wiring.source, self.config)
        pipeline = CameraPipeline(camera, source_factory=source_factory, sink=encoder, metrics=self.metrics,
                                  recognizer=self.worker)
        pipeline.blur_unknown = self.config.privacy.blur_unknown
        return pipeline

    def _on_result(self, result) -> None:
        pipeline = self.cameras.get(result.camera)
        if pipeline is not None:
            pipeline.on_result(result)
        events = self.events  # read once: a reload may swap it
        if events is not None:
            events.on_result(result)
        history = self.history
        if history is not None:
            history.on_result(result)

    # -- run ---------------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Start, loop until SIGTERM/SIGINT, stop. Returns the exit code."""
        self._install_signals()
        self._systemd_env = systemd.take_environment()  # before any child starts: only we talk to systemd
        self.start()
        next_metrics = 0.0
        while True:
            try:
                signum = self._signals.get(timeout=TICK)
            except queue.Empty:
                signum = None
            if signum in (signal.SIGTERM, signal.SIGINT):
                log.info("received %s: stopping", signal.Signals(signum).name)
                break
            if signum == signal.SIGHUP:
                self.reload()
            now = time.monotonic()
            self._check(now)
            self._write_status(now, metrics=now >= next_metrics)
            if now >= next_metrics:
                next_metrics = now + METRICS_EVERY
        self.stop()
        return 0

    def _install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, lambda num, _frame: self._signals.put(num))

    def _check(self, now: float) -> None:
        for pipeline in self.cameras.values():
            pipeline.check(now)
        if self.worker is not None:
            self.worker.check()
        if self.web is not None:
            self.web.check(now)
        if self.rtsp is not None:
            self.rtsp.check(now)
        if self.events is not None:
            self._gallery_to_events()
            self.events.tick()
        self._unknowns.tick(now, self.config.unknowns_dir, self.config.unknowns.retention)
        if self.history is not None:
            self._gallery_to_history()
            self.history.tick(now)
        self._heap.tick(now)
        self._notify_systemd(now)

    def _notify_systemd(self, now: float) -> None:
        streaming = [p for p in self.cameras.values() if p.status.state == "streaming"]
        status = f"STATUS=streaming {len(streaming)} of {len(self.cameras)} camera(s)"
        if not self._ready_sent and (streaming or not self.cameras):
            systemd.notify(f"READY=1\n{status}", self._systemd_env)
            self._ready_sent = True
            self._status_sent = status
        elif self._ready_sent and status != self._status_sent:  # `systemctl status` shows the current count
            systemd.notify(status, self._systemd_env)
            self._status_sent = status
        interval = systemd.watchdog_interval(self._systemd_env)
        # Ping only while at least one camera makes progress: a stuck pipeline gets restarted by systemd.
        if interval and now >= self._next_watchdog and (streaming or not self.cameras):
            systemd.notify("WATCHDOG=1", self._systemd_env)
            self._next_watchdog = now + interval

    def _write_status(self, now: float, metrics: bool = True) -> None:
        runtime_dir = self.config.runtime_dir
        cameras = {name: pipeline.status_entry(now) for name, pipeline in self.cameras.items()}
        for camera in self.config.cameras:
            if not camera.enabled:
                cameras[camera.name] = CameraStatus(state="disabled", reason="disabled in the config")
        status = DaemonStatus(updated=time.time(), pid=os.getpid(), cameras=cameras, started=self._started,
                              device=self.config.device)
        try:
            write_status(runtime_dir, status)
            if metrics:
                write_metrics(runtime_dir, self.metrics.registry)
        except OSError as exc:  # runtime_dir full or gone: keep streaming; say so once, not four times a second
            if not self._status_failing:
                log.error("cannot write status to %s: %s (the web app reports the daemon as down meanwhile)",
                          runtime_dir, exc)
            self._status_failing = True
        else:
            if self._status_failing:
                log.info("writing status to %s again", runtime_dir)
            self._status_failing = False

    # -- reload ------------------------------------------------------------------------------------------------
    def reload(self) -> bool:
        """SIGHUP: parse the file again; apply a valid config by restarting only what changed; keep the old
        config (and everything running) when the new one is invalid."""

        try:
            new = load(self.config_path)
        except ConfigError as exc:
            problems = str(exc).splitlines()
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            log.error("reload refused, keeping the running config: %s%s", problems[0] if problems else exc, more)
            return False
        for notice in new.notices:
            log.warning("config: %s", notice)
        plan = plan_reload(self.config, new)
        log.info("reload: %s", plan.describe())
        if plan.refused:
            log.error("reload refused, keeping the running config: %s", plan.refused)
            return False
        self.converge(new, plan)
        if plan.restart_history:  # the results between the two go unrecorded: a reload is rare
            if self.history is not None:
                self.history.stop(timeout=1.0)
            self._start_history()
        return True

    # -- converge: the one path for start, reload and stop ----------------------------------------------------
    def converge(self, new: Config | None, plan: ReloadPlan) -> None:
        """Bring the running parts to `new` (None: stop everything), restarting what `plan` names.

        Start (plan_start), reload (plan_reload) and stop (plan_stop) share this order: parts go down first
        (web when stopping, so no new clients; the cameras; then the event sinks, RTSP and the worker they use)
        and come up in the reverse order (sinks before the worker, whose first results already count; RTSP
        before the encoders that feed it; the web last, once status.json is there).
        """
        final = new is None
        self._down(plan, final=final, deadline=time.monotonic() + STOP_DEADLINE)
        if new is None:
            return
        self._apply_live(plan, new)
        self._up(plan)

    def _down(self, plan: ReloadPlan, *, final: bool, deadline: float) -> None:
        if final and self.web is not None:
            self.web.stop(timeout=3.0)
        self._stop_cameras(set(self.cameras) if final else plan.stop)
        if plan.restart_events and self.events is not None:
            # Detached before it stops: an event the cameras' results raised meanwhile went to sinks already
            # stopping, and the webhook lost it. Results in between reach the new hub, which announces who it sees.
            events, self.events = self.events, None
            events.stop(timeout=max(0.2, min(1.5, deadline - 2.0 - time.monotonic())) if final else 2.0)
        if plan.restart_rtsp and self.rtsp is not None:
            self.rtsp.stop(timeout=max(0.2, min(1.0, deadline - 1.0 - time.monotonic())) if final else 1.0)
            self.rtsp = None
        if final and self.worker is not None:  # on a reload the worker is reconfigured in _up instead
            self.worker.stop(timeout=max(0.5, deadline - time.monotonic()))

    def _apply_live(self, plan: ReloadPlan, new: Config) -> None:
        self.config = new
        for name in plan.stop - plan.start:
            self.metrics.remove_camera(name)
            if self.live is not None:
                self.live.remove(name)
        if "log_level" in plan.live:
            logging.getLogger().setLevel(new.log_level.upper())
        self.metrics.person_labels = new.metrics.person_labels
        if self.live is not None:  # the cap counts from the next viewer on; no one watching is cut
            self.live.max_viewers = new.live.max_viewers
        for pipeline in self.cameras.values():  # privacy applies live, from the next frame on
            pipeline.blur_unknown = new.privacy.blur_unknown

    def _up(self, plan: ReloadPlan) -> None:
        config = self.config
        if plan.restart_events:
            self._start_events()
        if plan.restart_worker or (self.worker is None and any(config.camera(n).recognize for n in plan.start)):
            self._start_worker()
        if plan.restart_rtsp and any(camera.rtsp.enabled for camera in config.cameras if camera.enabled):
            self._start_rtsp()
        for name in sorted(plan.start):
            self.cameras[name] = self._make_pipeline(config.camera(name))
            self.cameras[name].start()
        if not plan.restart_web:
            return
        self._write_status(time.monotonic())  # the web's first request finds a status.json
        if self._serve_web:
            if self.web is not None:
                self.web.stop(timeout=3.0)
            self.web = self._wiring.web(config, self.config_path, on_restart=self.metrics.count_restart)
            self.web.start()

    def _stop_cameras(self, names: set[str], timeout: float = 3.0) -> None:
        pipelines = [self.cameras.pop(name) for name in names if name in self.cameras]
        stoppers = [threading.Thread(target=p.stop, args=(timeout,), name=f"{p.name}-stop") for p in pipelines]
        for thread in stoppers:  # in parallel: N cameras still fit one deadline
            thread.start()
        deadline = time.monotonic() + timeout + 0.5
        for thread in stoppers:
            thread.join(max(0.1, deadline - time.monotonic()))

    # -- stop --------------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop everything within STOP_DEADLINE: web first (no new clients), then cameras, then the worker."""
        systemd.notify("STOPPING=1", self._systemd_env)
        self.converge(None, plan_stop(self.config))
        if self.history is not None:
            self.history.stop(timeout=1.0)
            self.history = None
        remove_status(self.config.runtime_dir)
        if self.live is not None:
            self.live.stop()
            self.live = None
        for camera in self.config.cameras:
            remove_hls_dir(self.config.runtime_dir / camera.name)
        log.info("stopped")
