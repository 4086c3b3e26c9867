// The HLS player: follows a camera's fMP4 HLS playlist with a small Media Source Extensions loop; browsers without
// MSE use their own HLS player. The page's fallback when the live path (live-player.js) fails.
import { attachSource, playableType, sleep } from "./mse.js";

const START_SEGMENTS = 2; // a new player fetches only the newest segments: it joins at the live edge
const KEEP_SECONDS = 30; // buffered video older than this is removed
const MAX_LAG_SECONDS = 3; // this much later than the steered delay (e.g. after a stall): jump forward
const CATCH_UP_RATE = 1.1; // a little behind: play slightly fast instead of jumping
const SLOW_DOWN_RATE = 0.95; // too close to the end of the buffer: play slightly slow instead of stalling
const RETRY_MS = 3000; // camera not streaming yet, or the stream broke

// Segments arrive whole, so the video buffered ahead of the playhead is a sawtooth: one segment more just after
// an append, least just before it. The player steers that low point to this margin: the smallest delay at which
// a late segment (a busy encoder, a slow poll) does not run the buffer dry.
const MARGIN_SECONDS = 0.5;

// Poll the playlist three times per segment: a new segment is picked up soon after it is listed.
export function pollMs(segmentSeconds) {
  return Math.min(Math.max(segmentSeconds * 1000 / 3, 200), 2000);
}

// Parse a media playlist: sequence numbers, the EXT-X-MAP init URI and the segment URIs (absolute).
export function parsePlaylist(text, baseUrl) {
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

async function fetchBytes(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${new URL(url).pathname}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

export class HlsPlayer {
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
