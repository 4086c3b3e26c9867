// The live player: /live/<camera> is one long response of fragmented MP4 (ftyp+moov, then prft+moof+mdat per
// frame) read with fetch's ReadableStream and appended to MSE as each frame arrives; the playhead is steered to stay
// a few frames behind the newest one. The page plays this first; the HLS player (hls-player.js) is the fallback.
import { attachSource, BoxReader, concatBytes, parsePrft, playableType, sleep, timescaleFromInit } from "./mse.js";

const LIVE_TARGET_SECONDS = 0.1; // how far behind the newest frame the playhead is steered
const LIVE_JUMP_SECONDS = 1.0; // further behind than this (a stall, a hidden tab): jump to the live edge
const LIVE_FAST_RATE = 1.25; // a little behind: play faster instead of jumping
const LIVE_NO_DATA_MS = 6000; // no bytes for this long: the stream is broken, reconnect
const LIVE_FAILURES = 2; // live sessions in a row that never played before the page falls back to HLS
const LIVE_KEEP_SECONDS = 10; // buffered video older than this is removed

export class LivePlayer {
  // report(state, text) as HlsPlayer; showDelay(seconds or null) for the page's delay line.
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
