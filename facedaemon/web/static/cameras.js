// The camera page: one card per camera with its player, state line and faces. Each camera plays on the live path
// first (live-player.js), on HLS (hls-player.js) when that fails, and goes back to live once it answers again.
// No third-party code and no build step.
import { HlsPlayer } from "./hls-player.js";
import { LivePlayer } from "./live-player.js";
import { BoxReader, OPEN_TIMEOUT_MS, sleep } from "./mse.js";

const STATUS_MS = 1000; // state and faces refresh
const LIVE_RETRY_MS = 15000; // while on HLS after a live failure, probe the live path this often

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
      const player = new LivePlayer(video, card.liveUrl, report, (delay) => card.showPath("live", delay));
      const { reason, fatal } = await player.run();
      console.warn(`live path failed (${reason}); playing HLS`);
      live = !fatal; // a browser that cannot decode the video would fail on HLS too: it says so there
    }
    card.showPath("hls", null);
    const hls = new HlsPlayer(video, card.playlistUrl, report);
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

document.addEventListener("DOMContentLoaded", boot);
