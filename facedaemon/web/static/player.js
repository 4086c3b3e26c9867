// Live view for facedaemon: plays each camera's fMP4 HLS stream and shows its state and faces.
// A small Media Source Extensions loop follows the playlist; browsers without MSE use their own HLS player.
// No third-party code and no build step.
"use strict";

const START_SEGMENTS = 2; // a new player fetches only the newest segments: it joins at the live edge
const KEEP_SECONDS = 30; // buffered video older than this is removed
const MAX_LAG_SECONDS = 3; // this much later than the steered delay (e.g. after a stall): jump forward
const CATCH_UP_RATE = 1.1; // a little behind: play slightly fast instead of jumping
const SLOW_DOWN_RATE = 0.95; // too close to the end of the buffer: play slightly slow instead of stalling
const RETRY_MS = 3000; // camera not streaming yet, or the stream broke
const STATUS_MS = 1000; // state and faces refresh
const OPEN_TIMEOUT_MS = 5000;

// Segments arrive whole, so the video buffered ahead of the playhead is a sawtooth: one segment more just after
// an append, least just before it. The player steers that low point to this margin: the smallest delay at which
// a late segment (a busy encoder, a slow poll) does not run the buffer dry.
const MARGIN_SECONDS = 0.5;

// Poll the playlist three times per segment: a new segment is picked up soon after it is listed.
function pollMs(segmentSeconds) {
  return Math.min(Math.max(segmentSeconds * 1000 / 3, 200), 2000);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Parse a media playlist: sequence numbers, the EXT-X-MAP init URI and the segment URIs (absolute).
function parsePlaylist(text, baseUrl) {
  const lines = text.split(/\r?\n/).map((line) => line.trim());
  if (lines[0] !== "#EXTM3U") throw new Error("not an HLS playlist");
  let mediaSequence = 0;
  let targetDuration = 1;
  let init = null;
  let duration = null;
  const segments = [];
  for (const line of lines) {
    if (line.startsWith("#EXT-X-MEDIA-SEQUENCE:")) {
      mediaSequence = parseInt(line.slice("#EXT-X-MEDIA-SEQUENCE:".length), 10) || 0;
    } else if (line.startsWith("#EXT-X-TARGETDURATION:")) {
      targetDuration = parseFloat(line.slice("#EXT-X-TARGETDURATION:".length)) || 1;
    } else if (line.startsWith("#EXT-X-MAP:")) {
      const uri = /URI="([^"]*)"/.exec(line);
      if (uri) init = new URL(uri[1], baseUrl).href;
    } else if (line.startsWith("#EXTINF:")) {
      duration = parseFloat(line.slice("#EXTINF:".length));
    } else if (line && !line.startsWith("#")) {
      segments.push({
        sequence: mediaSequence + segments.length,
        url: new URL(line, baseUrl).href,
        duration: duration || targetDuration,
      });
      duration = null;
    }
  }
  return { mediaSequence, targetDuration, init, segments };
}

// MSE needs the exact codec: read profile, compatibility and level from the init segment's avcC box.
// The MSE type of an init segment; an error when there is none, a fatal one (no retry helps) when this browser
// cannot play it.
function playableType(init, where) {
  const type = codecFromInit(init);
  if (!type) throw new Error(`no H.264 configuration in ${where}`);
  if (!MediaSource.isTypeSupported(type)) {
    const error = new Error(`this browser cannot play H.264 (${type}): open the playlist URL in VLC or ffplay`);
    error.fatal = true;
    throw error;
  }
  return type;
}

function codecFromInit(bytes) {
  const hex = (byte) => byte.toString(16).padStart(2, "0").toUpperCase();
  for (let i = 0; i + 8 <= bytes.length; i++) {
    const isAvcC = bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43;
    if (isAvcC && bytes[i + 4] === 1) {
      return `video/mp4; codecs="avc1.${hex(bytes[i + 5])}${hex(bytes[i + 6])}${hex(bytes[i + 7])}"`;
    }
  }
  return null;
}

async function fetchBytes(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${new URL(url).pathname}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

function waitForEvent(target, name, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event`)), ms);
    target.addEventListener(name, () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// Both players' set-up: a MediaSource on player.video with one SourceBuffer of `type`; sets player.objectUrl,
// player.source and player.buffer (what their stop() releases).
async function attachSource(player, type) {
  const source = new MediaSource();
  player.objectUrl = URL.createObjectURL(source);
  player.video.src = player.objectUrl;
  await waitForEvent(source, "sourceopen", OPEN_TIMEOUT_MS);
  player.source = source;
  player.buffer = source.addSourceBuffer(type);
}

class LivePlayer {
  // report(state, text): state is "loading", "playing", "waiting" or "error"; text is shown to the user.
  constructor(video, playlistUrl, report) {
    this.video = video;
    this.playlistUrl = playlistUrl;
    this.report = report;
    this.source = null;
    this.buffer = null;
    this.objectUrl = null;
    this.lastSequence = -1;
    this.averageLow = null;
  }

  start() {
    // MSE first, as hls.js does: it keeps the delay low and survives ffmpeg restarts (timestamps start again
    // without a discontinuity tag), which a browser's own HLS player may not. Native HLS is the fallback for
    // browsers without MSE (iPhone Safari).
    if (window.MediaSource) {
      this.loop();
    } else if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.playNative();
    } else {
      this.say("error", "this browser cannot play the stream here: open the playlist URL in VLC or ffplay");
    }
  }

  playNative() {
    const load = () => {
      this.video.src = this.playlistUrl;
      this.video.play().catch(() => {});
    };
    this.video.addEventListener("playing", () => this.say("playing", ""));
    this.video.addEventListener("error", () => {
      const error = this.video.error;
      this.say("waiting", `stream interrupted (${(error && error.message) || "video error"}), retrying…`);
      setTimeout(load, RETRY_MS);
    });
    load();
  }

  say(state, text) {
    if (!this.stopped) this.report(state, text);
  }

  // Ends the polling loop and frees the <video> (the page goes back to the live path).
  stop() {
    this.reset();
    this.stopped = true; // from now on reset() leaves the <video> (the live player's by then) alone
  }

  async loop() {
    while (!this.stopped) {
      let wait = RETRY_MS;
      try {
        wait = await this.step();
      } catch (error) {
        if (this.stopped) break;
        const message = error.message || String(error);
        if (error.fatal) this.say("error", message);
        else this.say("waiting", `stream interrupted (${message}), retrying…`);
        this.reset();
      }
      await sleep(wait);
    }
  }

  // One poll of the playlist; returns how long to wait before the next one.
  async step() {
    if (this.video.error) throw new Error(`video decoder: ${this.video.error.message || this.video.error.code}`);
    const response = await fetch(this.playlistUrl, { cache: "no-store" });
    if (!response.ok) {
      // 404 between ffmpeg runs: the daemon removes the old playlist before a new run writes its own.
      const why = response.status === 404 ? "waiting for the stream…" : `playlist: HTTP ${response.status}`;
      this.say("waiting", why);
      this.reset();
      return RETRY_MS / 3;
    }
    const playlist = parsePlaylist(await response.text(), response.url);
    const segments = playlist.segments;
    if (!playlist.init || segments.length === 0) {
      this.say("waiting", "waiting for the stream…");
      return RETRY_MS / 3;
    }
    const newest = segments[segments.length - 1];
    // Numbers going back (the folder was cleaned) or a hole (we fell behind the window): the buffer no
    // longer lines up, so start again at the live edge.
    if (this.buffer && (newest.sequence < this.lastSequence || segments[0].sequence > this.lastSequence + 1)) {
      this.reset();
    }
    if (!this.buffer) {
      await this.open(playlist.init);
      this.lastSequence = newest.sequence - START_SEGMENTS;
    }
    const joining = this.lastSequence < 0 || this.bufferedEnd() === 0;
    let lowLag = null;
    for (const segment of segments) {
      if (segment.sequence <= this.lastSequence) continue;
      const endBefore = this.bufferedEnd();
      if (lowLag === null && !joining) lowLag = endBefore - this.video.currentTime;
      await this.update((buffer, data) => buffer.appendBuffer(data), await fetchBytes(segment.url));
      this.lastSequence = segment.sequence;
      // Segment numbers carry on across ffmpeg restarts but timestamps start again: a segment that does not
      // extend the buffer means a new ffmpeg run (maybe a new size too), so re-open with its init segment.
      if (this.bufferedEnd() <= endBefore) {
        this.reset();
        return 0;
      }
    }
    if (this.stopped) return 0;
    await this.trim();
    this.followLiveEdge(newest.duration, lowLag);
    if (this.video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) this.say("playing", "");
    return pollMs(newest.duration);
  }

  async open(initUrl) {
    const init = await fetchBytes(initUrl);
    if (this.stopped) throw new Error("stopped"); // the live path has the <video> again
    await attachSource(this, playableType(init, "init.mp4"));
    await this.update((buffer, data) => buffer.appendBuffer(data), init);
    this.video.play().catch(() => {});
  }

  // appendBuffer and remove finish asynchronously with updateend (or error).
  update(action, data) {
    const buffer = this.buffer;
    if (this.stopped || !buffer) return Promise.reject(new Error("stopped"));
    return new Promise((resolve, reject) => {
      const listeners = new AbortController();
      const finish = (error) => {
        listeners.abort();
        if (error) reject(error);
        else resolve();
      };
      buffer.addEventListener("updateend", () => finish(), { signal: listeners.signal });
      buffer.addEventListener("error", () => finish(new Error("the browser rejected the video")), {
        signal: listeners.signal,
      });
      try {
        action(buffer, data);
      } catch (error) {
        finish(error); // e.g. QuotaExceededError; the loop resets and retries
      }
    });
  }

  async trim() {
    const ranges = this.buffer.buffered;
    if (ranges.length === 0) return;
    const start = ranges.start(0);
    const cutoff = this.video.currentTime - KEEP_SECONDS;
    if (cutoff > start) await this.update((buffer) => buffer.remove(start, cutoff));
  }

  bufferedEnd() {
    const ranges = this.buffer.buffered;
    return ranges.length === 0 ? 0 : ranges.end(ranges.length - 1);
  }

  // Keep the buffer's low point (lowLag: what was left just before this poll's first append, null when nothing
  // came) near MARGIN_SECONDS: jump when far off (joining, a stall, a tab that was hidden), otherwise nudge the
  // playback rate so the delay drifts back without a visible skip.
  followLiveEdge(segmentSeconds, lowLag) {
    if (this.stopped) return;
    const ranges = this.buffer.buffered;
    if (ranges.length === 0) return;
    const start = ranges.start(ranges.length - 1);
    const end = ranges.end(ranges.length - 1);
    const now = this.video.currentTime;
    if (now < start || end - now > segmentSeconds + MARGIN_SECONDS + MAX_LAG_SECONDS) {
      this.video.currentTime = Math.max(start, end - segmentSeconds - MARGIN_SECONDS);
      this.averageLow = null;
      this.video.playbackRate = 1;
      return;
    }
    if (lowLag === null) return;
    this.averageLow = this.averageLow === null ? lowLag : 0.7 * this.averageLow + 0.3 * lowLag;
    let rate = 1;
    if (this.averageLow > MARGIN_SECONDS + 0.3) rate = CATCH_UP_RATE;
    else if (this.averageLow < MARGIN_SECONDS - 0.2) rate = SLOW_DOWN_RATE;
    if (this.video.playbackRate !== rate) this.video.playbackRate = rate;
  }

  reset() {
    if (this.stopped) return;
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    if (this.source || this.video.getAttribute("src")) {
      this.video.removeAttribute("src");
      this.video.load();
    }
    this.source = null;
    this.buffer = null;
    this.objectUrl = null;
    this.lastSequence = -1;
    this.averageLow = null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The live path: /live/<camera> is one long response of fragmented MP4 (ftyp+moov, then prft+moof+mdat per frame)
// read with fetch's ReadableStream and appended to MSE as each frame arrives; the playhead is steered to stay a
// few frames behind the newest one. HLS (above) is the fallback.

const LIVE_TARGET_SECONDS = 0.1; // how far behind the newest frame the playhead is steered
const LIVE_JUMP_SECONDS = 1.0; // further behind than this (a stall, a hidden tab): jump to the live edge
const LIVE_FAST_RATE = 1.25; // a little behind: play faster instead of jumping
const LIVE_NO_DATA_MS = 6000; // no bytes for this long: the stream is broken, reconnect
const LIVE_FAILURES = 2; // live sessions in a row that never played before the page falls back to HLS
const LIVE_KEEP_SECONDS = 10; // buffered video older than this is removed
const LIVE_RETRY_MS = 15000; // while on HLS after a live failure, probe the live path this often
const NTP_UNIX_OFFSET = 2208988800; // seconds from 1900 (NTP) to 1970 (Unix)

// Cuts a byte stream, fed in any chunks, into whole top-level MP4 boxes: [{type, bytes}].
class BoxReader {
  constructor() {
    this.pending = new Uint8Array(0);
  }

  push(chunk) {
    const joined = new Uint8Array(this.pending.length + chunk.length);
    joined.set(this.pending);
    joined.set(chunk, this.pending.length);
    const boxes = [];
    let at = 0;
    while (joined.length - at >= 8) {
      const view = new DataView(joined.buffer, joined.byteOffset + at);
      let size = view.getUint32(0);
      if (size === 1) {
        if (joined.length - at < 16) break;
        size = Number(view.getBigUint64(8));
      }
      if (size < 8) throw new Error("live: not an MP4 stream");
      if (joined.length - at < size) break;
      const type = String.fromCharCode(...joined.subarray(at + 4, at + 8));
      boxes.push({ type, bytes: joined.subarray(at, at + size) });
      at += size;
    }
    this.pending = joined.slice(at);
    return boxes;
  }
}

function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// The video track's timescale (mdhd) from the init segment; prft media times count in it.
function timescaleFromInit(bytes) {
  for (let i = 4; i + 28 <= bytes.length; i++) {
    if (bytes[i] === 0x6d && bytes[i + 1] === 0x64 && bytes[i + 2] === 0x68 && bytes[i + 3] === 0x64) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + i + 4);
      return view.getUint32(view.getUint8(0) === 1 ? 20 : 12);
    }
  }
  return null;
}

// prft (producer reference time): the wall clock (ms since 1970) when the frame at mediaTime was muxed.
function parsePrft(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getUint8(8);
  const seconds = view.getUint32(16);
  const fraction = view.getUint32(20);
  const mediaTime = version === 0 ? view.getUint32(24) : Number(view.getBigUint64(24));
  return { wallMs: (seconds - NTP_UNIX_OFFSET) * 1000 + (fraction / 2 ** 32) * 1000, mediaTime };
}

class LowLatencyPlayer {
  // report(state, text) as LivePlayer; showDelay(seconds or null) for the page's delay line.
  constructor(video, liveUrl, report, showDelay) {
    this.video = video;
    this.liveUrl = liveUrl;
    this.report = report;
    this.showDelay = showDelay;
    this.timescale = 90000;
    this.clock = null; // the newest prft: {wallMs, media seconds}
    this.delayTimer = setInterval(() => this.updateDelay(), 500);
    this.resetState();
  }

  resetState() {
    this.source = null;
    this.buffer = null;
    this.objectUrl = null;
    this.queue = [];
    this.initParts = [];
    this.fragmentParts = [];
    this.failure = null;
    this.played = false;
    this.appends = 0;
  }

  // Plays until the live path fails LIVE_FAILURES times in a row without playing; resolves with the reason.
  async run() {
    let failures = 0;
    let reason = "";
    while (failures < LIVE_FAILURES) {
      let fatal = false;
      try {
        await this.session();
        reason = "the live stream ended";
      } catch (error) {
        reason = error.message || String(error);
        fatal = Boolean(error.fatal);
      }
      // A session that played and then ended (ffmpeg restarted, the daemon reloaded) is no reason to give up.
      failures = fatal ? LIVE_FAILURES : this.played ? 0 : failures + 1;
      this.fatal = fatal;
      this.close();
      if (failures < LIVE_FAILURES) {
        this.report("waiting", `live: ${reason}, reconnecting…`);
        await sleep(this.played ? 200 : 1000);
      }
    }
    clearInterval(this.delayTimer);
    this.showDelay(null);
    return { reason, fatal: this.fatal };
  }

  async session() {
    this.abort = new AbortController();
    const response = await fetch(this.liveUrl, { cache: "no-store", signal: this.abort.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const reader = response.body.getReader();
    const boxes = new BoxReader();
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.video.error) throw new Error(`video decoder: ${this.video.error.message || this.video.error.code}`);
      let timer;
      const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("no video for a while")), LIVE_NO_DATA_MS);
      });
      const { value, done } = await Promise.race([reader.read(), timeout]).finally(() => clearTimeout(timer));
      if (done) return;
      for (const box of boxes.push(value)) await this.take(box);
    }
  }

  async take(box) {
    if (!this.buffer) {
      this.initParts.push(box.bytes);
      if (box.type === "moov") await this.open(concatBytes(this.initParts));
      return;
    }
    if (box.type === "prft") {
      const prft = parsePrft(box.bytes);
      this.clock = { wallMs: prft.wallMs, media: prft.mediaTime / this.timescale };
    }
    this.fragmentParts.push(box.bytes);
    if (box.type === "mdat") {
      this.queue.push(concatBytes(this.fragmentParts));
      this.fragmentParts = [];
      this.pump();
    }
  }

  async open(init) {
    const type = playableType(init, "the live stream");
    this.timescale = timescaleFromInit(init) || this.timescale;
    await attachSource(this, type);
    this.buffer.addEventListener("updateend", () => this.appended());
    this.buffer.addEventListener("error", () => { this.failure = new Error("the browser rejected the video"); });
    this.queue.push(init);
    this.pump();
    this.video.play().catch(() => {});
  }

  // One append at a time; frames that arrive meanwhile go in together with the next one.
  pump() {
    if (!this.buffer || this.buffer.updating || this.queue.length === 0) return;
    const data = this.queue.length === 1 ? this.queue[0] : concatBytes(this.queue);
    this.queue = [];
    try {
      this.buffer.appendBuffer(data);
    } catch (error) {
      this.failure = error; // e.g. QuotaExceededError: the session ends and reconnects
    }
  }

  appended() {
    this.appends += 1;
    this.followLiveEdge();
    if (this.appends % 150 === 0) this.trim();
    else this.pump();
    if (!this.played && this.video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA && this.video.currentTime > 0) {
      this.played = true;
      this.report("playing", "");
    }
  }

  trim() {
    const ranges = this.buffer.buffered;
    const cutoff = this.video.currentTime - LIVE_KEEP_SECONDS;
    if (ranges.length > 0 && cutoff > ranges.start(0)) this.buffer.remove(ranges.start(0), cutoff);
    else this.pump();
  }

  // Stay LIVE_TARGET_SECONDS behind the newest frame: jump when far off (joining, a stall, a gap after dropped
  // frames), otherwise play a little faster until the lag is back.
  followLiveEdge() {
    const ranges = this.buffer.buffered;
    if (ranges.length === 0) return;
    const start = ranges.start(ranges.length - 1);
    const end = ranges.end(ranges.length - 1);
    const now = this.video.currentTime;
    if (now < start || end - now > LIVE_JUMP_SECONDS) {
      this.video.currentTime = Math.max(start, end - LIVE_TARGET_SECONDS);
      this.video.playbackRate = 1;
      return;
    }
    const lag = end - now;
    const rate = lag > LIVE_TARGET_SECONDS + 0.1 ? LIVE_FAST_RATE : lag > LIVE_TARGET_SECONDS + 0.03 ? 1.05 : 1;
    if (this.video.playbackRate !== rate) this.video.playbackRate = rate;
  }

  updateDelay() {
    if (!this.clock || !this.played) return;
    const shownWallMs = this.clock.wallMs + (this.video.currentTime - this.clock.media) * 1000;
    this.showDelay(Math.max(0, (Date.now() - shownWallMs) / 1000));
  }

  close() {
    if (this.abort) this.abort.abort();
    if (this.objectUrl) URL.revokeObjectURL(this.objectUrl);
    if (this.source || this.video.getAttribute("src")) {
      this.video.removeAttribute("src");
      this.video.load();
    }
    this.resetState();
  }
}

// The state line, faces list and playlist URL of one camera section.
class CameraCard {
  constructor(section) {
    this.section = section;
    this.name = section.dataset.camera;
    this.facesUrl = section.dataset.faces;
    this.playlistUrl = new URL(section.dataset.playlist, window.location.href).href;
    this.liveUrl = new URL(section.dataset.live, window.location.href).href;
    this.delayText = section.querySelector(".delay");
    this.stateText = section.querySelector(".state");
    this.fpsText = section.querySelector(".fps");
    this.noteText = section.querySelector(".note");
    this.facesList = section.querySelector(".faces");
    this.setUpCopy(section.querySelector(".playlist input"), section.querySelector(".copy"));
  }

  setUpCopy(input, button) {
    input.value = this.playlistUrl;
    input.addEventListener("focus", () => input.select());
    button.addEventListener("click", async () => {
      input.select();
      try {
        await navigator.clipboard.writeText(this.playlistUrl);
        button.textContent = "Copied";
      } catch {
        button.textContent = "Press Ctrl+C"; // clipboard API needs HTTPS or localhost
      }
      setTimeout(() => { button.textContent = "Copy"; }, 2000);
    });
  }

  // What the player says: data-player drives the styling (and lets tests see an error without parsing text).
  playerState(state, text) {
    this.section.dataset.player = state;
    this.noteText.textContent = text;
  }

  // Which path plays (data-path: "live" or "hls", for the styling and the tests) and how far behind it is.
  showPath(path, delaySeconds) {
    this.section.dataset.path = path;
    const label = path === "live" ? "live" : "HLS";
    this.delayText.textContent = delaySeconds == null ? label : `${label} · ${delaySeconds.toFixed(2)} s behind`;
    if (delaySeconds != null) this.section.dataset.delay = delaySeconds.toFixed(3);
  }

  showState(camera) {
    this.section.dataset.state = camera.state;
    this.stateText.textContent = camera.reason ? `${camera.state}: ${camera.reason}` : camera.state;
    const size = camera.width && camera.height ? ` · ${camera.width}×${camera.height}` : "";
    this.fpsText.textContent = camera.state === "streaming" ? `${camera.fps.toFixed(1)} fps${size}` : "";
  }

  showFaces(faces) {
    const items = faces.map((face) => {
      const item = document.createElement("li");
      item.textContent = `${face.name} ${Math.round(face.confidence * 100)}%`;
      return item;
    });
    if (items.length === 0) {
      const none = document.createElement("li");
      none.className = "none";
      none.textContent = "none";
      items.push(none);
    }
    this.facesList.replaceChildren(...items);
  }

  async refreshFaces() {
    const response = await fetch(this.facesUrl, { cache: "no-store" });
    if (response.ok) this.showFaces((await response.json()).faces);
  }
}

async function pollStatus(apiUrl, cards) {
  for (;;) {
    try {
      const response = await fetch(apiUrl, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      for (const camera of await response.json()) cards.get(camera.name)?.showState(camera);
      await Promise.all([...cards.values()].map((card) => card.refreshFaces()));
    } catch (error) {
      for (const card of cards.values()) card.showState({ state: "unknown", reason: `web API: ${error.message}` });
    }
    await sleep(STATUS_MS);
  }
}

// Whether the live path answers with an init segment now (a short probe while the page plays HLS).
async function liveAnswers(url) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), OPEN_TIMEOUT_MS);
  try {
    const response = await fetch(url, { cache: "no-store", signal: abort.signal });
    if (!response.ok) return false;
    const reader = response.body.getReader();
    const boxes = new BoxReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return false;
      if (boxes.push(value).some((box) => box.type === "moov")) return true;
    }
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

// The live path first (when the browser has MSE and the page was not asked for ?path=hls); HLS when it fails,
// and back to the live path once it answers again (probed every LIVE_RETRY_MS).
async function play(card, video, report) {
  const wanted = new URLSearchParams(window.location.search).get("path");
  let live = wanted !== "hls" && Boolean(window.MediaSource && window.ReadableStream);
  for (;;) {
    if (live) {
      card.showPath("live", null);
      const player = new LowLatencyPlayer(video, card.liveUrl, report, (delay) => card.showPath("live", delay));
      const { reason, fatal } = await player.run();
      console.warn(`live path failed (${reason}); playing HLS`);
      live = !fatal; // a browser that cannot decode the video would fail on HLS too: it says so there
    }
    card.showPath("hls", null);
    const hls = new LivePlayer(video, card.playlistUrl, report);
    hls.start();
    if (!live) return;
    do await sleep(LIVE_RETRY_MS); while (!(await liveAnswers(card.liveUrl)));
    hls.stop();
  }
}

function boot() {
  const cards = new Map();
  for (const section of document.querySelectorAll("section.camera")) {
    const card = new CameraCard(section);
    cards.set(card.name, card);
    const report = (state, text) => card.playerState(state, text);
    play(card, section.querySelector("video"), report);
  }
  pollStatus(document.body.dataset.api, cards);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { parsePlaylist, codecFromInit, pollMs, BoxReader, parsePrft, timescaleFromInit }; // tests (node)
} else {
  document.addEventListener("DOMContentLoaded", boot);
}
