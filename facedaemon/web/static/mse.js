// Media Source Extensions helpers shared by the live player, the HLS player and the page: the codec check, a
// MediaSource on a <video>, and reading fragmented MP4 (whole boxes, the track's timescale, prft wall clocks).
// No third-party code and no build step.

export const OPEN_TIMEOUT_MS = 5000;
const NTP_UNIX_OFFSET = 2208988800; // seconds from 1900 (NTP) to 1970 (Unix)

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The MSE type of an init segment; an error when there is none, a fatal one (no retry helps) when this browser
// cannot play it.
export function playableType(init, where) {
  const type = codecFromInit(init);
  if (!type) throw new Error(`no H.264 configuration in ${where}`);
  if (!MediaSource.isTypeSupported(type)) {
    const error = new Error(`this browser cannot play H.264 (${type}): open the playlist URL in VLC or ffplay`);
    error.fatal = true;
    throw error;
  }
  return type;
}

// MSE needs the exact codec: read profile, compatibility and level from the init segment's avcC box.
export function codecFromInit(bytes) {
  const hex = (byte) => byte.toString(16).padStart(2, "0").toUpperCase();
  for (let i = 0; i + 8 <= bytes.length; i++) {
    const isAvcC = bytes[i] === 0x61 && bytes[i + 1] === 0x76 && bytes[i + 2] === 0x63 && bytes[i + 3] === 0x43;
    if (isAvcC && bytes[i + 4] === 1) {
      return `video/mp4; codecs="avc1.${hex(bytes[i + 5])}${hex(bytes[i + 6])}${hex(bytes[i + 7])}"`;
    }
  }
  return null;
}

function waitForEvent(target, name, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} event`)), ms);
    target.addEventListener(name, () => { clearTimeout(timer); resolve(); }, { once: true });
  });
}

// Both players' set-up: a MediaSource on player.video with one SourceBuffer of `type`; sets player.objectUrl,
// player.source and player.buffer (what their stop() releases).
export async function attachSource(player, type) {
  const source = new MediaSource();
  player.objectUrl = URL.createObjectURL(source);
  player.video.src = player.objectUrl;
  await waitForEvent(source, "sourceopen", OPEN_TIMEOUT_MS);
  player.source = source;
  player.buffer = source.addSourceBuffer(type);
}

// Cuts a byte stream, fed in any chunks, into whole top-level MP4 boxes: [{type, bytes}].
export class BoxReader {
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

export function concatBytes(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

// The video track's timescale (mdhd) from the init segment; prft media times count in it.
export function timescaleFromInit(bytes) {
  for (let i = 4; i + 28 <= bytes.length; i++) {
    if (bytes[i] === 0x6d && bytes[i + 1] === 0x64 && bytes[i + 2] === 0x68 && bytes[i + 3] === 0x64) {
      const view = new DataView(bytes.buffer, bytes.byteOffset + i + 4);
      return view.getUint32(view.getUint8(0) === 1 ? 20 : 12);
    }
  }
  return null;
}

// prft (producer reference time): the wall clock (ms since 1970) when the frame at mediaTime was muxed.
export function parsePrft(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getUint8(8);
  const seconds = view.getUint32(16);
  const fraction = view.getUint32(20);
  const mediaTime = version === 0 ? view.getUint32(24) : Number(view.getBigUint64(24));
  return { wallMs: (seconds - NTP_UNIX_OFFSET) * 1000 + (fraction / 2 ** 32) * 1000, mediaTime };
}
