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
      this.report("error", "this browser cannot play the stream here: open the playlist URL in VLC or ffplay");
    }
  }

  playNative() {
    const load = () => {
      this.video.src = this.playlistUrl;
      this.video.play().catch(() => {});
    };
    this.video.addEventListener("playing", () => this.report("playing", ""));
    this.video.addEventListener("error", () => {
      const error = this.video.error;
      this.report("waiting", `stream interrupted (${(error && error.message) || "video error"}), retrying…`);
      setTimeout(load, RETRY_MS);
    });
    load();
  }

  async loop() {
    for (;;) {
      let wait = RETRY_MS;
      try {
        wait = await this.step();
      } catch (error) {
        const message = error.message || String(error);
        if (error.fatal) this.report("error", message);
        else this.report("waiting", `stream interrupted (${message}), retrying…`);
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
      this.report("waiting", why);
      this.reset();
      return RETRY_MS / 3;
    }
    const playlist = parsePlaylist(await response.text(), response.url);
    const segments = playlist.segments;
    if (!playlist.init || segments.length === 0) {
      this.report("waiting", "waiting for the stream…");
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
    await this.trim();
    this.followLiveEdge(newest.duration, lowLag);
    if (this.video.readyState >= HTMLMediaElement.HAVE_FUTURE_DATA) this.report("playing", "");
    return pollMs(newest.duration);
  }

  async open(initUrl) {
    const init = await fetchBytes(initUrl);
    const type = codecFromInit(init);
    if (!type) throw new Error("no H.264 configuration in init.mp4");
    if (!MediaSource.isTypeSupported(type)) {
      const error = new Error(`this browser cannot play H.264 (${type}): open the playlist URL in VLC or ffplay`);
      error.fatal = true;
      throw error;
    }
    const source = new MediaSource();
    this.objectUrl = URL.createObjectURL(source);
    this.video.src = this.objectUrl;
    await waitForEvent(source, "sourceopen", OPEN_TIMEOUT_MS);
    this.source = source;
    this.buffer = source.addSourceBuffer(type);
    await this.update((buffer, data) => buffer.appendBuffer(data), init);
    this.video.play().catch(() => {});
  }

  // appendBuffer and remove finish asynchronously with updateend (or error).
  update(action, data) {
    const buffer = this.buffer;
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

// The state line, faces list and playlist URL of one camera section.
class CameraCard {
  constructor(section) {
    this.section = section;
    this.name = section.dataset.camera;
    this.facesUrl = section.dataset.faces;
    this.playlistUrl = new URL(section.dataset.playlist, window.location.href).href;
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

function boot() {
  const cards = new Map();
  for (const section of document.querySelectorAll("section.camera")) {
    const card = new CameraCard(section);
    cards.set(card.name, card);
    const report = (state, text) => card.playerState(state, text);
    new LivePlayer(section.querySelector("video"), card.playlistUrl, report).start();
  }
  pollStatus(document.body.dataset.api, cards);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { parsePlaylist, codecFromInit, pollMs }; // for the tests (node)
} else {
  document.addEventListener("DOMContentLoaded", boot);
}
