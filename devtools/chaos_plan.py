"""The chaos soak's pure parts: the seeded fault schedule, and the summary that judges a run against issue 25's
targets. No I/O here: devtools/chaos.py runs the faults and feeds what it saw to `judge`."""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

# What the schedule may do. Each kill names the part of facedaemon_restarts_total{part} that must count it (None: the
# fault restarts nothing the daemon owns, or something whose own supervisor restarts it, like a gunicorn worker).
KINDS: dict[str, str | None] = {
    "ffmpeg": "encoder",         # SIGKILL a camera's encoding ffmpeg
    "decoder": "capture",        # SIGKILL a camera's decoding ffmpeg (the file camera's reader)
    "worker": "worker",          # SIGKILL the recognition worker
    "web_worker": None,          # SIGKILL a gunicorn worker: gunicorn's master forks another
    "web_master": "web",         # SIGKILL gunicorn's master: the daemon starts a new gunicorn
    "sidecar": "rtsp",           # SIGKILL the RTSP output server
    "camera_server": "capture",  # stop the GStreamer RTSP camera, start it again a little later
    "broker": None,              # stop Mosquitto, start it again (it keeps its sessions: persistence on)
    "sighup": None,              # change one camera's frame rate in the config and send SIGHUP
    "disk_full": None,           # fill the runtime folder (a small tmpfs), hold, free it
    "enrol": None,               # enrol a person through the web API
    "forget": None,              # forget a person enrolled earlier
}
# The web API's answer, not a part coming back: done (and kept) is their target, not the comeback limit.
UNTIMED = frozenset({"enrol", "forget"})
# Never in a group with another fault: while the disk is full nothing can come back, so the other fault's time
# would be the disk's.
ALONE = frozenset({"disk_full"})
TOGETHER_SHARE = 0.35  # share of steps that inject two or three faults at the same moment
PAUSE = (2.0, 8.0)     # s between a step's recovery and the next step
HOLD = (2.0, 16.0)     # s a full disk or a stopped broker / camera server stays down (past a 1+2+4+8 s backoff)

COMEBACK_LIMIT = 10.0  # s: issue 25's worst time for a killed part to come back
FLAT_LIMIT = 0.03      # RSS, open files, threads after warm-up (long run only)
FLAT_FIELDS = ("rss_mib", "open_files", "threads")
# RSS is judged per part of the daemon's tree (devtools/soak.py PARTS), and only for a part whose processes lived
# through the whole comparison: the main process always (it is never restarted, and it is the one that lives as long
# as the device). A part the faults restarted starts small again, so its change (and the tree's sum, 600-770 MiB
# depending on which children are fresh) is restart noise, not a leak: reported, not judged. The fault-free soak
# (`scripts/soak` without --chaos) judges the whole tree, whose children then live as long as the run.
TREE_RSS = "rss_mib"


@dataclass(frozen=True)
class Step:
    kinds: tuple[str, ...]
    hold: float   # s the disk / broker / camera server stays down (ignored by the other kinds)
    pause: float  # s to wait after everything came back
    pick: int     # which camera / process / person when there is a choice (index modulo the candidates)


def schedule(seed: int, steps: int) -> list[Step]:
    """`steps` fault steps from a seeded generator: every kind comes once before any comes twice (a shuffled bag, so
    a short run still meets each), some steps put two or three faults together, never the disk with another."""
    rng = random.Random(seed)
    bag: list[str] = []
    result = []

    def draw() -> str:
        if not bag:
            bag.extend(sorted(KINDS))
            rng.shuffle(bag)
        return bag.pop()

    for _ in range(steps):
        kinds = [draw()]
        if kinds[0] not in ALONE and rng.random() < TOGETHER_SHARE:
            for _ in range(rng.choice((1, 2))):
                extra = draw()
                if extra in ALONE or extra in kinds:
                    bag.insert(0, extra)  # it comes later (alone, or in another step)
                else:
                    kinds.append(extra)
        result.append(Step(tuple(kinds), round(rng.uniform(*HOLD), 1), round(rng.uniform(*PAUSE), 1),
                           rng.randrange(1 << 16)))
    return result


def encoder_cameras(kinds: Sequence[str]) -> tuple[str, ...]:
    """The cameras whose encoder an "ffmpeg" fault may kill in a step of these kinds. Not `pattern` beside a SIGHUP
    (the reload replaces that camera: its old encoder is going anyway, and no restart is counted), nor `ipcam` while
    its RTSP camera server is held down: the encoder is fed by the camera's frames, so its first new segment waits for
    the camera, and the time would be the camera's outage (the 10.1 s of the 20-minute run: a 4.3 s hold plus the
    camera's 6.1 s comeback), not the encoder's."""
    return tuple(camera for camera in ("door", "ipcam", "pattern")
                 if not (camera == "pattern" and "sighup" in kinds)
                 and not (camera == "ipcam" and "camera_server" in kinds))


def api_answer(status: int | None, wanted: int, unanswered_before: bool) -> str:
    """What the runner does with the web API's answer to an enrolment (wanted 201) or a forget (wanted 200):
    "retry" when the web server was down or busy (no answer, a 5xx, 409: another request is changing the person),
    "done", or "problem". A forget's 404 after an earlier request went unanswered is "done": that request was served
    and its answer lost when a fault killed gunicorn (the one-hour run of 2026-12-07 died on that at 21 min)."""
    if status is None or status >= 500 or status == 409:
        return "retry"
    if status == wanted or (status == 404 and wanted == 200 and unanswered_before):
        return "done"
    return "problem"


def log_time(log: str, start: int, *needles: str) -> float | None:
    """Unix time of the log line holding the last of `needles`, found in order from character `start` on (the
    daemon's lines begin "2026-12-06 18:54:04,485 "); None until they are all there. A comeback timed from the log
    is the daemon's own moment, not when a busy runner got round to looking."""
    position = start
    found = -1
    for needle in needles:
        found = log.find(needle, position)
        if found < 0:
            return None
        position = found + len(needle)
    line = log[log.rfind("\n", 0, found) + 1:][:23]
    try:
        return datetime.strptime(line, "%Y-%m-%d %H:%M:%S,%f").timestamp()
    except ValueError:
        return None


LOGGED_EVENT = re.compile(
    r"^(\S+ \S+) INFO facedaemon\.events\.sinks: camera (\S+): .* (recognised|left) \(track (\d+),", re.M)


def missing_events(log: str, received: Sequence[dict]) -> list[str]:
    """The events the daemon's log sink wrote ("camera door: Obama left (track 7, ...") that are not among the
    bodies a sink received, as "time camera kind track" lines: which ones a loss was, to read the log around them."""
    got = {(b.get("camera"), b.get("event"), b.get("track")) for b in received}
    return [f"{when} {camera} {kind} track {track}" for when, camera, kind, track in LOGGED_EVENT.findall(log)
            if (camera, kind, int(track)) not in got]


@dataclass(frozen=True)
class Comeback:
    """One fault's outcome: `seconds` from the fault (or from the end of its hold) until the part served again;
    None: it never came back within the runner's wait."""
    kind: str
    at: float  # s into the run
    what: str  # the camera / process it hit
    seconds: float | None


@dataclass
class Outcome:
    """Everything a run saw, for `judge`."""
    comebacks: list[Comeback]
    restarts_counted: dict[str, float]  # part -> increase of facedaemon_restarts_total over the run
    orphans: list[str]
    tracebacks: int
    enrolments_lost: list[str]
    events_sent: int
    events_lost: dict[str, int]         # sink -> events counted by the daemon that the sink never received
    flat: dict[str, float] = field(default_factory=dict)  # field -> growth after warm-up (empty: not judged)
    # part -> (RSS growth after warm-up, never restarted in the compared samples); empty: not judged
    parts: dict[str, tuple[float, bool]] = field(default_factory=dict)

    def tree_rss_judged(self) -> bool:
        """The tree's RSS sum says something only when no part was restarted (never so under faults)."""
        return all(lived for _change, lived in self.parts.values())


def expected_restarts(comebacks: Sequence[Comeback]) -> dict[str, int]:
    """The restarts the faults must have caused, by part (at least: the disk or a reload may add more)."""
    counts: dict[str, int] = {}
    for comeback in comebacks:
        part = KINDS[comeback.kind]
        if part is not None:
            counts[part] = counts.get(part, 0) + 1
    return counts


def comeback_rows(comebacks: Sequence[Comeback]) -> list[tuple[str, int, float, float, int]]:
    """Per kind: (kind, faults, median s, worst s, never came back); sorted by kind."""
    rows = []
    for kind in sorted({c.kind for c in comebacks}):
        times = [c.seconds for c in comebacks if c.kind == kind and c.seconds is not None]
        never = sum(1 for c in comebacks if c.kind == kind and c.seconds is None)
        rows.append((kind, len(times) + never, statistics.median(times) if times else float("nan"),
                     max(times) if times else float("nan"), never))
    return rows


def judge(outcome: Outcome) -> list[str]:
    """Every target the run missed, one line each (empty: all met)."""
    missed = []
    for comeback in outcome.comebacks:
        if comeback.seconds is None:
            missed.append(f"{comeback.kind} ({comeback.what}) at {comeback.at:.0f} s never came back")
        elif comeback.seconds > COMEBACK_LIMIT and comeback.kind not in UNTIMED:
            missed.append(f"{comeback.kind} ({comeback.what}) at {comeback.at:.0f} s came back after "
                          f"{comeback.seconds:.1f} s (limit {COMEBACK_LIMIT:.0f} s)")
    for part, wanted in sorted(expected_restarts(outcome.comebacks).items()):
        counted = outcome.restarts_counted.get(part, 0.0)
        if counted < wanted:
            missed.append(f'restarts_total{{part="{part}"}} rose by {counted:.0f}, the faults caused {wanted}')
    if outcome.orphans:
        missed.append(f"{len(outcome.orphans)} process(es) left after stop: {outcome.orphans}")
    if outcome.tracebacks:
        missed.append(f"{outcome.tracebacks} traceback(s) in the logs")
    if outcome.enrolments_lost:
        missed.append(f"enrolments lost: {outcome.enrolments_lost}")
    for sink, lost in sorted(outcome.events_lost.items()):
        if lost:
            missed.append(f"{sink}: {lost} of {outcome.events_sent} events never arrived")
    for name, change in sorted(outcome.flat.items()):
        if abs(change) > FLAT_LIMIT and (name != TREE_RSS or outcome.tree_rss_judged()):
            missed.append(f"{name} changed {change * 100:+.1f} % after warm-up (limit ±{FLAT_LIMIT * 100:.0f} %)")
    for part, (change, lived) in sorted(outcome.parts.items()):
        if lived and abs(change) > FLAT_LIMIT:
            missed.append(f"rss_mib of {part} changed {change * 100:+.1f} % after warm-up "
                          f"(limit ±{FLAT_LIMIT * 100:.0f} %)")
    return missed


def table(outcome: Outcome) -> str:
    """The run's summary as a Markdown table (what docs/performance.md quotes)."""
    lines = ["| figure | value | target |", "|---|---|---|"]
    for kind, count, median, worst, never in comeback_rows(outcome.comebacks):
        never_text = f", {never} never" if never else ""
        target = "done" if kind in UNTIMED else f"≤ {COMEBACK_LIMIT:.0f} s"
        lines.append(f"| comeback: {kind} | {count} faults, median {median:.1f} s, worst {worst:.1f} s{never_text} "
                     f"| {target} |")
    wanted = expected_restarts(outcome.comebacks)
    for part in sorted(set(wanted) | set(outcome.restarts_counted)):
        lines.append(f'| restarts_total{{part="{part}"}} | +{outcome.restarts_counted.get(part, 0):.0f} '
                     f"| ≥ {wanted.get(part, 0)} (the kills) |")
    lines.append(f"| orphans after stop | {len(outcome.orphans)} | 0 |")
    lines.append(f"| tracebacks in the logs | {outcome.tracebacks} | 0 |")
    lines.append(f"| enrolments lost | {len(outcome.enrolments_lost)} | 0 |")
    for sink, lost in sorted(outcome.events_lost.items()):
        lines.append(f"| events lost: {sink} | {lost} of {outcome.events_sent} | 0 |")
    within = f"within ±{FLAT_LIMIT * 100:.0f} %"
    for name, change in sorted(outcome.flat.items()):
        judged = name != TREE_RSS or outcome.tree_rss_judged()
        label = f"{name} after warm-up" + (", whole tree" if name == TREE_RSS else "")
        lines.append(f"| {label} | {change * 100:+.1f} % | {within if judged else 'reported: parts were restarted'} |")
    for part, (change, lived) in sorted(outcome.parts.items()):
        lines.append(f"| rss_mib after warm-up: {part} | {change * 100:+.1f} % "
                     f"| {within if lived else 'reported: restarted by the faults'} |")
    return "\n".join(lines)
