// The design review page (templates/orders/review.html, the pins in templates/orders/_pins.html):
// one 3D file of an order with the parties' comments pinned to its surface. The data-*
// attributes read and written here are the contract with those templates.
//
// - Before anything is downloaded, WebGL is checked (without it the page says so and the
//   comments stay listed below: data-state="fallback").
// - The file is downloaded with progress and handed to pick-worker.js, which parses it,
//   sends the geometry back for drawing (viewer.js), and then builds a BVH to answer picks.
//   A file with more triangles than data-max-triangles is not drawn (fallback, reason "size").
// - Each [data-pin] of the list below gets a numbered marker over the canvas, moved on every
//   frame; the list is re-read whenever it changes (htmx replaces #pins after each add,
//   resolve or delete).
// - A click on the model (not a drag) asks the worker for the surface point under the
//   pointer and opens the pin form there; in measure mode two clicks measure a distance.
// All coordinates exchanged with the server are the file's own (model) coordinates.
//
// The markers over the canvas are review-markers.js, the pin form review-form.js, the number
// formatting and vector arithmetic review-numbers.js; this module loads the model, turns
// clicks into picks and measurements, and wires the buttons.
import { download, NO_WEBGL, PreviewError, progressText, webglAvailable } from "./common.js";
import { createPinForm } from "./review-form.js";
import { createMarkers } from "./review-markers.js";
import { distance, parseTriple, parseView, unit } from "./review-numbers.js";

const CLICK_TOLERANCE = 5; // CSS px a pointer may move between down and up and still be a click
const FLY_MS = 400;

const root = document.querySelector("[data-review]");
if (root) {
  startReview(root);
}

function startReview(root) {
  const stage = root.querySelector("[data-review-stage]");
  const status = root.querySelector("[data-review-status]");
  const sizeOutput = root.querySelector("[data-review-size]");
  const resetButton = root.querySelector("[data-review-reset]");
  const measureButton = root.querySelector("[data-review-measure]");
  const measurementOutput = root.querySelector("[data-review-measurement]");
  // Rendered only for parties who may pin.
  const saveMeasurementButton = root.querySelector("[data-review-save-measurement]");
  const canPin = root.dataset.canPin === "1";
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  let worker = null;
  let viewer = null;
  let pickReady = false;
  let pickUnavailable = ""; // why picking cannot work (a point cloud), once known
  let nextPickId = 1;
  const pendingPicks = new Map(); // id → { started, measuring }
  let picks = 0;
  let noteTimer = 0;

  let measuring = false;
  const measurement = { a: null, b: null, segment: null };
  const markers = createMarkers(stage, reducedMotion);
  // A measurement saved as a pin is drawn by the pin now: its distance stays in the toolbar.
  const form = createPinForm({ markers, onMeasurementSaved: () => clearMeasurement({ keepReading: true }) });

  // --- state and status -------------------------------------------------------------------

  function setState(state, message = "") {
    root.dataset.state = state;
    setStatus(message);
  }

  function setStatus(message, { error = false, note = false } = {}) {
    clearTimeout(noteTimer);
    status.textContent = message;
    status.hidden = !message;
    status.classList.toggle("is-error", error);
    // Once the model is drawn, a message floats over it instead of taking the stage's place.
    status.classList.toggle("is-note", note);
  }

  function showNote(message, ms = 0) {
    setStatus(message, { note: true });
    if (ms) {
      noteTimer = setTimeout(() => setStatus(""), ms);
    }
  }

  function fallback(reason, message) {
    root.dataset.fallbackReason = reason;
    setState("fallback", message);
    stopWorker();
  }

  function fail(error) {
    if (!error.userMessage) {
      console.warn("design review: the model could not be shown", error);
    }
    const message = error.userMessage || "This file could not be shown in 3D.";
    setState("error", `${message} The comments are listed below; download the file to open it in your CAD software.`);
    status.classList.add("is-error");
    stopWorker();
    if (viewer) {
      viewer.dispose();
      viewer = null;
      markers.detach();
    }
  }

  function stopWorker() {
    if (worker) {
      worker.terminate();
      worker = null;
    }
  }

  // --- loading ----------------------------------------------------------------------------

  async function load() {
    if (!webglAvailable()) {
      fallback(
        "webgl",
        `${NO_WEBGL} The comments are listed below; download the file to open it in your CAD software.`
      );
      return;
    }
    const viewerModule = import("./viewer.js"); // loads while the file downloads
    viewerModule.catch(() => {}); // reported where it is awaited
    let buffer;
    try {
      buffer = await download(root.dataset.meshUrl, Number(root.dataset.meshSize), undefined, (received, total) =>
        setStatus(progressText(received, total))
      );
    } catch (error) {
      fail(error);
      return;
    }
    setStatus("Preparing…");
    worker = new Worker(new URL("./pick-worker.js", import.meta.url), { type: "module" });
    worker.addEventListener("message", (event) => onWorkerMessage(event.data, viewerModule));
    worker.addEventListener("error", (event) => {
      if (!viewer) {
        fail(new Error(`pick worker failed: ${event.message || "could not start"}`));
      } else {
        console.warn("design review: the pick worker failed", event.message);
        pickUnavailable = "Point picking is not available on this page. The comments are listed below.";
        pickReady = false;
        stopWorker();
      }
    });
    const maxTriangles = Number(root.dataset.maxTriangles) || 0;
    worker.postMessage({ buffer, format: root.dataset.meshFormat, maxTriangles }, [buffer]);
  }

  function onWorkerMessage(data, viewerModule) {
    if (data.id !== undefined) {
      answerPick(data);
    } else if (data.mesh) {
      show(data.mesh, viewerModule).catch(fail);
    } else if (data.bvhReady !== undefined) {
      if (data.bvhReady) {
        pickReady = true;
        root.dataset.bvhMs = data.ms.toFixed(1);
        root.dataset.pickReady = "1";
        if (status.classList.contains("is-note")) {
          setStatus(""); // "Preparing point picking…" is over
        }
      } else {
        pickUnavailable = "This file is a point cloud: points on it cannot be picked.";
      }
    } else if (data.tooLarge) {
      const { triangles, points } = data.tooLarge;
      const max = Number(root.dataset.maxTriangles);
      const what = points ? "points" : "triangles";
      fallback(
        "size",
        `This model has ${triangles.toLocaleString("en")} ${what}, more than this viewer draws (${max.toLocaleString("en")}). The comments are listed below; download the file to open it in your CAD software.`
      );
    } else if (data.error) {
      fail(new PreviewError(data.error));
    }
  }

  async function show(mesh, viewerModule) {
    const { createViewer } = await viewerModule;
    if (root.dataset.state !== "loading") {
      return;
    }
    viewer = createViewer(stage, mesh, { testid: "review-canvas", className: "review-canvas" });
    markers.attach(viewer);

    const [x, y, z] = viewer.size;
    const count = `${mesh.triangles.toLocaleString("en")} ${mesh.points ? "points" : "triangles"}`;
    sizeOutput.textContent = `${x.toFixed(1)} × ${y.toFixed(1)} × ${z.toFixed(1)} mm · ${count}`;
    resetButton.disabled = false;
    measureButton.disabled = Boolean(mesh.points);
    setState("ready");

    listenForClicks(viewer.canvas);
    syncPins();
    new MutationObserver(onPageChange).observe(document.body, { childList: true, subtree: true });
  }

  // --- picking ----------------------------------------------------------------------------

  // A click is a primary-button press and release on the canvas that moved less than
  // CLICK_TOLERANCE and was not a pan (right button, modifier keys) or a pinch (two fingers).
  function listenForClicks(canvas) {
    let gesture = null;
    canvas.addEventListener("pointerdown", (event) => {
      if (!event.isPrimary) {
        if (gesture) {
          gesture.cancelled = true; // a second finger: pinch or pan
        }
        return;
      }
      const panning = event.button !== 0 || event.shiftKey || event.ctrlKey || event.metaKey;
      gesture = { id: event.pointerId, x: event.clientX, y: event.clientY, cancelled: panning };
    });
    canvas.addEventListener("pointermove", (event) => {
      if (gesture && event.pointerId === gesture.id) {
        if (Math.hypot(event.clientX - gesture.x, event.clientY - gesture.y) >= CLICK_TOLERANCE) {
          gesture.cancelled = true; // an orbit
        }
      }
    });
    canvas.addEventListener("pointercancel", () => {
      gesture = null;
    });
    canvas.addEventListener("pointerup", (event) => {
      const click = gesture && event.pointerId === gesture.id && !gesture.cancelled;
      const moved = gesture && Math.hypot(event.clientX - gesture.x, event.clientY - gesture.y) >= CLICK_TOLERANCE;
      gesture = null;
      if (click && !moved) {
        requestPick(event);
      }
    });
  }

  function requestPick(event) {
    // The event's own time stamp (same clock as performance.now()) includes any wait before
    // this handler ran, so data-last-pick-ms is what the user waits from releasing the button.
    const now = performance.now();
    const started = event.timeStamp > 0 && event.timeStamp <= now ? event.timeStamp : now;
    if (!worker || pickUnavailable) {
      showNote(pickUnavailable || "Point picking is not available.", 4000);
      return;
    }
    if (!pickReady) {
      showNote("Preparing point picking…");
    }
    const { origin, direction } = viewer.rayAt(event.clientX, event.clientY);
    const id = nextPickId;
    nextPickId += 1;
    pendingPicks.set(id, { started, measuring });
    // Sent even before the BVH is ready: the worker answers it as soon as it is built.
    worker.postMessage({ pick: { origin, direction, id } });
  }

  function answerPick({ id, hit, ms }) {
    const request = pendingPicks.get(id);
    if (!request) {
      return;
    }
    pendingPicks.delete(id);
    if (hit && viewer) {
      if (request.measuring && measuring) {
        measurePoint(hit);
      } else if (!request.measuring && !measuring) {
        pinPoint(hit);
      }
    }
    // A miss changes nothing, but it was a pick all the same. data-picks last: tests wait for it.
    picks += 1;
    root.dataset.lastPickMs = (performance.now() - request.started).toFixed(1);
    root.dataset.lastPickWorkerMs = ms.toFixed(2); // of that, the ray cast in the worker
    root.dataset.lastPickHit = hit ? "1" : "0";
    root.dataset.picks = String(picks);
  }

  // A new comment at the picked point: the form is filled and shown, with a marker there.
  function pinPoint(hit) {
    if (!canPin) {
      return;
    }
    form.openComment(hit, viewer);
  }

  // --- measuring --------------------------------------------------------------------------

  function setMeasuring(on) {
    measuring = on;
    measureButton.setAttribute("aria-pressed", String(on));
    measureButton.classList.toggle("active", on);
    stage.classList.toggle("is-measuring", on);
    if (!on) {
      clearMeasurement();
    }
  }

  function measurePoint(hit) {
    if (!measurement.a || measurement.b) {
      clearMeasurement(); // a third click starts a new measurement
      measurement.a = hit;
      markers.setTemporary("measure-a", hit.point, hit.normal, { label: "A", className: "is-measure" });
      return;
    }
    measurement.b = hit;
    markers.setTemporary("measure-b", hit.point, hit.normal, { label: "B", className: "is-measure" });
    measurement.segment = viewer.addSegment(measurement.a.point, hit.point);
    measurementOutput.textContent = `${distance(measurement.a.point, hit.point).toFixed(2)} mm`;
    if (saveMeasurementButton) {
      saveMeasurementButton.hidden = !canPin;
    }
  }

  // keepReading: the measurement was saved as a pin, which now draws it: its distance stays
  // in the toolbar until the next click.
  function clearMeasurement({ keepReading = false } = {}) {
    if (measurement.segment) {
      measurement.segment.remove();
    }
    measurement.a = measurement.b = measurement.segment = null;
    markers.removeTemporary("measure-a");
    markers.removeTemporary("measure-b");
    if (!keepReading) {
      measurementOutput.textContent = "";
    }
    if (saveMeasurementButton) {
      saveMeasurementButton.hidden = true;
    }
  }

  function saveMeasurement() {
    const { a, b } = measurement;
    if (!a || !b) {
      return;
    }
    form.openMeasurement(a, b, viewer);
  }

  // --- pins -------------------------------------------------------------------------------

  // The list and its form were (re)rendered: the form first (a saved pin's "+" goes, a saved
  // measurement's ends too), then the markers.
  function syncPins() {
    form.sync();
    markers.sync();
  }

  // A pin's number in the list shows it on the model: the camera flies to where the pin's
  // author was looking (or, without a stored view, looks at the point along its normal).
  function flyToPin(pin) {
    if (!viewer) {
      return;
    }
    const number = pin.dataset.pinNumber;
    const point = parseTriple(pin.dataset.point);
    let view = parseView(pin.dataset.camera);
    if (!view && point) {
      const current = viewer.getView();
      const away = distance(current.position, current.target);
      const normal = parseTriple(pin.dataset.normal);
      const direction = normal || unit(current.position.map((value, i) => value - current.target[i]));
      view = { position: point.map((value, i) => value + direction[i] * away), target: point, up: [0, 0, 1] };
    }
    markers.setActive(number);
    stage.scrollIntoView({ block: "nearest", behavior: reducedMotion.matches ? "auto" : "smooth" });
    if (view) {
      viewer.flyTo(view, FLY_MS);
    }
  }

  // Things on the page changed (htmx replaced #pins): re-read the pins. Changes inside the
  // stage are our own markers.
  function onPageChange(records) {
    if (records.some((record) => !stage.contains(record.target))) {
      syncPins();
    }
  }

  // --- buttons ----------------------------------------------------------------------------

  resetButton.addEventListener("click", () => {
    if (viewer) {
      markers.setActive(null);
      viewer.reset();
    }
  });
  measureButton.addEventListener("click", () => {
    if (viewer) {
      setMeasuring(!measuring);
    }
  });
  if (saveMeasurementButton) {
    saveMeasurementButton.addEventListener("click", saveMeasurement);
  }
  // Escape drops what the last clicks started: the measurement in progress, else the open
  // pin form (its text stays, should the person click again).
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !viewer) {
      return;
    }
    if (measuring && measurement.a) {
      clearMeasurement();
    } else if (form.isOpen) {
      form.cancel();
    }
  });
  // The list is replaced by htmx: listen on the document.
  document.addEventListener("click", (event) => {
    const fly = event.target.closest("[data-pin-fly]");
    if (fly) {
      const pin = fly.closest("[data-pin]");
      if (pin) {
        flyToPin(pin);
      }
      return;
    }
    if (event.target.closest("[data-pin-cancel]")) {
      form.cancel();
    }
  });

  load().catch(fail);
}
