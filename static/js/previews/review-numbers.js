// Numbers of the design review page (review.js, review-form.js, review-markers.js): points as
// the server's "x,y,z" text and back, the view stored with a pin (JSON), and the little vector
// arithmetic the page needs. No DOM here.

// A plain decimal (never "1e-7"), without trailing zeros, and never "-0".
function plain(value, digits) {
  const text = value.toFixed(digits).replace(/\.?0+$/, "");
  return text === "-0" || text === "" ? "0" : text;
}

export function triple(values, digits) {
  return values.map((value) => plain(value, digits)).join(",");
}

export function oneDecimal(value) {
  const text = value.toFixed(1);
  return text === "-0.0" ? "0.0" : text;
}

export function parseTriple(text) {
  if (!text) {
    return null;
  }
  const values = text.split(",").map((part) => Number(part.trim()));
  return values.length === 3 && values.every(Number.isFinite) ? values : null;
}

export function parseView(text) {
  if (!text) {
    return null;
  }
  try {
    const view = JSON.parse(text);
    const valid = (values) => Array.isArray(values) && values.length === 3 && values.every(Number.isFinite);
    return view && valid(view.position) && valid(view.target) ? view : null;
  } catch {
    return null;
  }
}

export function distance(a, b) {
  return Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
}

export function unit(vector) {
  const length = Math.hypot(...vector) || 1;
  return vector.map((value) => value / length);
}
