// Helpers shared by the 3D pages: the preview dialog (preview.js), the design review
// (review.js) and the comparison (compare.js). Nothing here loads three.js, so a page can
// check WebGL and download the file before the heavy modules arrive.

// An error whose message is written for the user (shown as is); any other error gets a
// generic sentence and goes to the console.
export class PreviewError extends Error {
  constructor(message) {
    super(message);
    this.userMessage = message;
  }
}

export function humanSize(bytes) {
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} ${units[0]}` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

// "Downloading… 12 MB of 40 MB", or without a known total "Downloading… 12 MB".
export function progressText(received, total) {
  return total ? `Downloading… ${humanSize(received)} of ${humanSize(total)}` : `Downloading… ${humanSize(received)}`;
}

// Fetches url into one ArrayBuffer, calling onProgress(received, total) at most once a frame.
// total is the response's Content-Length, else expectedSize (the size the page announced).
export async function download(url, expectedSize, signal, onProgress = () => {}) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", signal });
  } catch (error) {
    if (error.name === "AbortError") {
      throw error;
    }
    throw new PreviewError("The file could not be downloaded. Check your connection and try again.");
  }
  if (!response.ok) {
    throw new PreviewError(`The file could not be downloaded (error ${response.status}).`);
  }
  const total = Number(response.headers.get("Content-Length")) || expectedSize || 0;
  if (!response.body || !total) {
    const buffer = await response.arrayBuffer();
    onProgress(buffer.byteLength, buffer.byteLength);
    return buffer;
  }
  // One buffer of the announced size, filled as chunks arrive: no second copy of a large file.
  const reader = response.body.getReader();
  let bytes = new Uint8Array(total);
  let received = 0;
  let frame = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    if (received + value.length > bytes.length) {
      const bigger = new Uint8Array(Math.max(bytes.length * 2, received + value.length));
      bigger.set(bytes.subarray(0, received));
      bytes = bigger;
    }
    bytes.set(value, received);
    received += value.length;
    if (!frame) {
      frame = requestAnimationFrame(() => {
        frame = 0;
        onProgress(received, total);
      });
    }
  }
  cancelAnimationFrame(frame);
  onProgress(received, total);
  return received === bytes.length ? bytes.buffer : bytes.slice(0, received).buffer;
}

// What every 3D view says, before what to do instead, when webglAvailable() is false.
export const NO_WEBGL = "This browser cannot draw 3D here (WebGL is off or not supported).";

// Checked before downloading anything: without WebGL there is nothing to draw the file with.
export function webglAvailable() {
  const canvas = document.createElement("canvas");
  const gl = canvas.getContext("webgl2") || canvas.getContext("webgl");
  if (!gl) {
    return false;
  }
  const lose = gl.getExtension("WEBGL_lose_context");
  if (lose) {
    lose.loseContext();
  }
  return true;
}
