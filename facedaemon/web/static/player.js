// Live view for facedaemon: plays each camera's fMP4 HLS stream and shows its state and faces.
// Safari plays HLS natively; elsewhere a small Media Source Extensions loop follows the playlist.
// No third-party code and no build step.
"use strict";

const LIVE_EDGE_SEGMENTS = 3; // start this many segments behind the newest one
const KEEP_SECONDS = 30; // buffered video older than this is removed
const MAX_LAG_SECONDS = 3; // jump forward when playback falls this far behind the buffered end
const LIVE_DELAY_SECONDS = 1; // where a jump lands, behind the buffered end
const RETRY_MS = 3000; // camera not streaming yet, or the stream broke
const STATUS_MS = 1000; // state and faces refresh
const OPEN_TIMEOUT_MS = 5000;

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
  constructor(video, playlistUrl, note) {
    this.video = video;
    this.playlistUrl = playlistUrl;
    this.note = note;
    this.source = null;
    this.buffer = null;
    this.objectUrl = null;
    this.lastSequence = -1;
  }

  start() {
    if (this.video.canPlayType("application/vnd.apple.mpegurl")) {
      this.playNative();
    } else if (window.MediaSource) {
      this.loop();
    } else {
      this.note("this browser cannot play the stream here: open the playlist URL in VLC or ffplay");
    }
  }

  playNative() {
    const load = () => {
      this.video.src = this.playlistUrl;
      this.video.play().catch(() => {});
    };
    this.video.addEventListener("playing", () => this.note(""));
    this.video.addEventListener("error", () => {
      this.note("waiting for the stream…");
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
        this.note(`stream interrupted (${error.message || error}), retrying…`);
        this.reset();
      }
      await sleep(wait);
    }
  }

  // One poll of the playlist; returns how long to wait before the next one.
  async step() {
    const response = await fetch(this.playlistUrl, { cache: "no-store" });
    if (!response.ok) {
      this.note(response.status === 404 ? "waiting for the stream…" : `playlist: HTTP ${response.status}`);
      this.reset();
      return RETRY_MS;
    }
    const playlist = parsePlaylist(await response.text(), response.url);
    const segments = playlist.segments;
    if (!playlist.init || segments.length === 0) {
      this.note("waiting for the stream…");
      return RETRY_MS;
    }
    const newest = segments[segments.length - 1].sequence;
    // Numbers going back (the folder was cleaned) or a hole (we fell behind the window): the buffer no
    // longer lines up, so start again at the live edge.
    if (this.buffer && (newest < this.lastSequence || segments[0].sequence > this.lastSequence + 1)) {
      this.reset();
    }
    if (!this.buffer) {
      await this.open(playlist.init);
      this.lastSequence = newest - LIVE_EDGE_SEGMENTS;
    }
    for (const segment of segments) {
      if (segment.sequence <= this.lastSequence) continue;
      const endBefore = this.bufferedEnd();
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
    this.followLiveEdge();
    this.note("");
    const pace = segments[segments.length - 1].duration * 1000;
    return Math.min(Math.max(pace, 250), 5000);
  }

  async open(initUrl) {
    const init = await fetchBytes(initUrl);
    const type = codecFromInit(init);
    if (!type) throw new Error("no H.264 configuration in init.mp4");
    if (!MediaSource.isTypeSupported(type)) throw new Error(`browser cannot play ${type}`);
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

  followLiveEdge() {
    const ranges = this.buffer.buffered;
    if (ranges.length === 0) return;
    const start = ranges.start(ranges.length - 1);
    const end = ranges.end(ranges.length - 1);
    const now = this.video.currentTime;
    if (now < start || end - now > MAX_LAG_SECONDS) {
      this.video.currentTime = Math.max(start, end - LIVE_DELAY_SECONDS);
    }
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

  note(text) {
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
    new LivePlayer(section.querySelector("video"), card.playlistUrl, (text) => card.note(text)).start();
  }
  pollStatus(document.body.dataset.api, cards);
}

if (typeof module !== "undefined" && module.exports) {
  module.exports = { parsePlaylist, codecFromInit }; // for the tests (node)
} else {
  document.addEventListener("DOMContentLoaded", boot);
}
