"""What a new config changes: a pure comparison of two validated configs, so SIGHUP restarts only what it must.

The plan is derived from the models: every top-level field is compared, and a field this module does not know
restarts everything, so a new setting is never silently ignored by a reload.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from facedaemon.config.models import CameraConfig, Config

LIVE = frozenset({"log_level", "metrics", "privacy", "live"})  # applied without restarting anything
WEB = frozenset({"http", "auth"})
WORKER = frozenset({"recognition", "faces_dir", "cache_dir"})
ENCODING = frozenset({"hls", "encoder"})  # every camera's ffmpeg
RTSP = frozenset({"rtsp"})
EVENTS = frozenset({"events", "device"})  # the event sinks (log, webhook, MQTT): restarted on their own
UNKNOWNS = frozenset({"unknowns"})  # the worker saves the crops, the web app lists them: both restart
REFUSED = frozenset({"runtime_dir"})  # the web app and HLS players hold paths under it: restart the service
HISTORY_KEYS = ("history", "state_dir", "unknowns", "device")  # a change restarts the history's writer (the arbiter)
# history.retention, max_mb and grace are read by the history's writer alone: restarting it applies them.
# history.enabled also decides the worker's thumbnails and the web's routes: it restarts everything, as a key the
# plan does not classify.
HISTORY_WRITER_ONLY = frozenset({"retention", "max_mb", "grace"})


@dataclass
class ReloadPlan:
    refused: str | None = None
    stop: set[str] = field(default_factory=set)  # cameras to stop (removed, disabled or restarted)
    start: set[str] = field(default_factory=set)  # cameras to (re)start with the new config
    restart_worker: bool = False
    restart_web: bool = False
    restart_rtsp: bool = False
    restart_events: bool = False
    restart_history: bool = False  # the visit history's writer (HISTORY_KEYS)
    live: set[str] = field(default_factory=set)

    @property
    def empty(self) -> bool:
        return not (self.refused or self.stop or self.start or self.restart_worker or self.restart_web
                    or self.restart_rtsp or self.restart_events or self.restart_history or self.live)

    def describe(self) -> str:
        if self.refused:
            return f"refused: {self.refused}"
        if self.empty:
            return "nothing changed"
        parts = []
        restarted = self.stop & self.start
        for label, names in (("restart", restarted), ("start", self.start - restarted),
                             ("stop", self.stop - restarted)):
            if names:
                parts.append(f"{label} camera(s) {', '.join(sorted(names))}")
        parts += [what for what, flag in (("restart recognition", self.restart_worker),
                                          ("restart web", self.restart_web),
                                          ("restart RTSP", self.restart_rtsp),
                                          ("restart events", self.restart_events),
                                          ("restart the history's writer", self.restart_history)) if flag]
        if self.live:
            parts.append(f"apply {', '.join(sorted(self.live))} live")
        return "; ".join(parts)


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    plan = ReloadPlan()
    changed = {name for name in Config.model_fields if getattr(old, name) != getattr(new, name)}
    if changed & REFUSED:
        plan.refused = f"changing {', '.join(sorted(changed & REFUSED))} needs a restart of the service"
        return plan
    plan.restart_history = bool(changed & set(HISTORY_KEYS))
    if "history" in changed and _history_writer_only(old, new):
        changed.discard("history")
    old_cameras, new_cameras = _enabled(old), _enabled(new)
    everything = changed - LIVE - WEB - WORKER - ENCODING - RTSP - EVENTS - UNKNOWNS - {"cameras"}
    restart_all = bool(everything or changed & ENCODING)
    plan.live = changed & LIVE
    # The sinks announce the enabled cameras (Home Assistant discovery), so a camera set change restarts them.
    plan.restart_events = bool(changed & EVENTS or everything or _recognising(old_cameras) != _recognising(new_cameras))
    plan.restart_worker = bool(changed & (WORKER | UNKNOWNS) or everything) and any(
        c.recognize for c in new_cameras.values())
    plan.restart_rtsp = bool(changed & RTSP or everything or _rtsp_mounts(old_cameras) != _rtsp_mounts(new_cameras))
    plan.restart_web = bool(changed & (WEB | UNKNOWNS) or everything or set(old_cameras) != set(new_cameras))
    for name in old_cameras.keys() - new_cameras.keys():
        plan.stop.add(name)
    for name, camera in new_cameras.items():
        before = old_cameras.get(name)
        if before is None:
            plan.start.add(name)
        elif before != camera or restart_all or (plan.restart_rtsp and (camera.rtsp.enabled or before.rtsp.enabled)):
            plan.stop.add(name)
            plan.start.add(name)
    return plan


def _history_writer_only(old: Config, new: Config) -> bool:
    before, after = old.history.model_dump(), new.history.model_dump()
    return {key for key in before if before[key] != after[key]} <= HISTORY_WRITER_ONLY


def plan_start(config: Config) -> ReloadPlan:
    """From nothing running to `config`: the arbiter's start is a reload from an empty daemon."""
    cameras = _enabled(config)
    return ReloadPlan(start=set(cameras), restart_events=True, restart_web=True,
                      restart_worker=any(camera.recognize for camera in cameras.values()),
                      restart_rtsp=any(camera.rtsp.enabled for camera in cameras.values()))


def plan_stop(config: Config) -> ReloadPlan:
    """From `config` to nothing running (the arbiter's stop)."""
    return ReloadPlan(stop=set(_enabled(config)), restart_events=True, restart_web=True, restart_worker=True,
                      restart_rtsp=True)


def _enabled(config: Config) -> dict[str, CameraConfig]:
    return {camera.name: camera for camera in config.cameras if camera.enabled}


def _rtsp_mounts(cameras: dict[str, CameraConfig]) -> set[tuple[str, str]]:
    return {(name, camera.rtsp_path) for name, camera in cameras.items() if camera.rtsp.enabled}


def _recognising(cameras: dict[str, CameraConfig]) -> set[str]:
    return {name for name, camera in cameras.items() if camera.recognize}
