// The comparison page (templates/orders/compare.html): two meshes of an order (a delivery and
// its revision) in 3D, either overlaid in one view, each in its colour, or side by side in two
// views whose cameras move together. Both files keep their own coordinates and are centred on
// the SAME point (the centre of the box around both), so a change between them shows as a
// shift, not as two parts each centred on itself. The data-* attributes read and written here
// are the contract with the template.
import { download, NO_WEBGL, PreviewError, progressText, webglAvailable } from "./common.js";

const KEYS = ["a", "b"];
const DEFAULT_COLOURS = { a: "#2f6fb2", b: "#d9822b" };
// In the overlay, b is drawn see-through over a solid a: where b lies outside a it shows
// as a tinted skin, where both coincide the colours mix, where b lies inside a it is hidden.
const OVERLAY_OPACITY = 0.6;

const root = document.querySelector("[data-compare]");
if (root) {
  startCompare(root);
}

function startCompare(root) {
  const stage = root.querySelector("[data-compare-stage]");
  const status = root.querySelector("[data-compare-status]");
  const resetButton = root.querySelector("[data-compare-reset]");
  const modeInputs = [...root.querySelectorAll("[data-compare-mode]")];
  const files = {};
  for (const key of KEYS) {
    const element = root.querySelector(`[data-compare-file="${key}"]`);
    const colour = element && /^#[0-9a-f]{6}$/i.test(element.dataset.colour || "") ? element.dataset.colour : DEFAULT_COLOURS[key];
    files[key] = {
      element,
      colour,
      label: element ? element.dataset.label || element.dataset.meshName || "" : "",
      visible: root.querySelector(`[data-compare-visible="${key}"]`),
      mesh: null,
    };
  }

  let createViewer = null;
  let center = null; // the union box's centre, model coordinates
  let frame = null; // the union box
  let viewers = []; // the views of the current mode
  let shown = {}; // key → { viewer, object, material } in the current mode
  let mode = null;

  function setState(state, message = "", error = false) {
    root.dataset.state = state;
    status.textContent = message;
    status.hidden = !message;
    status.classList.toggle("is-error", error);
  }

  function fail(error) {
    if (!error.userMessage) {
      console.warn("comparison: the models could not be shown", error);
    }
    setState("error", error.userMessage || "These files could not be shown in 3D. Download them to open them in your CAD software.", true);
    disposeViews();
  }

  async function load() {
    if (!webglAvailable()) {
      root.dataset.fallbackReason = "webgl";
      setState(
        "fallback",
        `${NO_WEBGL} Download the files to open them in your CAD software.`
      );
      return;
    }
    if (!files.a.element || !files.b.element) {
      throw new PreviewError("Choose two files to compare.");
    }
    const viewerModule = import("./viewer.js"); // loads while the files download
    viewerModule.catch(() => {}); // reported where it is awaited

    // Both downloads at once, with one progress line for both.
    const received = { a: 0, b: 0 };
    const totals = { a: Number(files.a.element.dataset.meshSize) || 0, b: Number(files.b.element.dataset.meshSize) || 0 };
    const progress = () => setState("loading", progressText(received.a + received.b, totals.a + totals.b));
    const buffers = await Promise.all(
      KEYS.map((key) =>
        download(files[key].element.dataset.meshUrl, totals[key], undefined, (bytes, total) => {
          received[key] = bytes;
          totals[key] = total || totals[key];
          progress();
        }).catch((error) => {
          throw labelled(error, files[key].label);
        })
      )
    );

    setState("loading", "Preparing…");
    const module = await viewerModule;
    createViewer = module.createViewer;
    const meshes = await Promise.all(
      KEYS.map((key, i) =>
        module.parseMesh(buffers[i], files[key].element.dataset.meshFormat, { worker: null }).catch((error) => {
          throw labelled(error, files[key].label);
        })
      )
    );
    KEYS.forEach((key, i) => {
      files[key].mesh = meshes[i];
    });

    // Both are drawn at once in the overlay: the limit is on the sum.
    const max = Number(root.dataset.maxTriangles) || 0;
    const triangles = meshes[0].triangles + meshes[1].triangles;
    if (max && triangles > max) {
      root.dataset.fallbackReason = "size";
      setState(
        "fallback",
        `These two models have ${triangles.toLocaleString("en")} triangles together, more than this viewer draws (${max.toLocaleString("en")}). Download the files to open them in your CAD software.`
      );
      return;
    }

    const min = [0, 1, 2].map((axis) => Math.min(meshes[0].box.min[axis], meshes[1].box.min[axis]));
    const maxCorner = [0, 1, 2].map((axis) => Math.max(meshes[0].box.max[axis], meshes[1].box.max[axis]));
    frame = { min, max: maxCorner };
    center = [0, 1, 2].map((axis) => (min[axis] + maxCorner[axis]) / 2);

    setState("ready");
    const checked = modeInputs.find((input) => input.checked);
    showMode(checked ? checked.value : "overlay");
    resetButton.disabled = false;
  }

  function pane(key) {
    const element = document.createElement("div");
    element.className = "compare-pane";
    element.dataset.comparePane = key;
    // Which colour is which file: both in the overlay, one in each pane side by side.
    const legend = document.createElement("ul");
    legend.className = "compare-legend";
    for (const shownKey of key === "overlay" ? KEYS : [key]) {
      const item = document.createElement("li");
      item.className = "compare-pane-label";
      item.textContent = files[shownKey].label;
      item.style.borderLeftColor = files[shownKey].colour; // CSSOM: allowed by the CSP
      legend.append(item);
    }
    element.append(legend);
    stage.append(element);
    return element;
  }

  function disposeViews() {
    for (const viewer of viewers) {
      viewer.dispose();
    }
    viewers = [];
    shown = {};
    for (const element of stage.querySelectorAll("[data-compare-pane]")) {
      element.remove();
    }
  }

  function showMode(next) {
    if (next !== "overlay" && next !== "side") {
      next = "overlay";
    }
    if (next === mode) {
      return;
    }
    // The new views start where the old ones looked.
    const view = viewers.length ? viewers[0].getView() : null;
    disposeViews();
    mode = next;
    root.dataset.mode = mode;
    stage.classList.toggle("is-side", mode === "side");
    const options = (key, testid) => ({ testid, className: "compare-canvas", center, frame, colour: files[key].colour });
    if (mode === "overlay") {
      const viewer = createViewer(pane("overlay"), files.a.mesh, options("a", "compare-canvas-overlay"));
      // a sits a hair behind in depth, so where both surfaces coincide b's tint wins cleanly
      // instead of the two flickering through each other.
      viewer.material.polygonOffset = true;
      viewer.material.polygonOffsetFactor = 1;
      viewer.material.polygonOffsetUnits = 1;
      const b = viewer.addMesh(files.b.mesh, { colour: files.b.colour, opacity: OVERLAY_OPACITY });
      b.object.renderOrder = 1; // after a: blended over it
      viewers = [viewer];
      shown = { a: { viewer, object: viewer.object, material: viewer.material }, b: { viewer, ...b } };
    } else {
      for (const key of KEYS) {
        const viewer = createViewer(pane(key), files[key].mesh, options(key, `compare-canvas-${key}`));
        viewers.push(viewer);
        shown[key] = { viewer, object: viewer.object, material: viewer.material };
      }
      link(viewers);
    }
    if (view) {
      viewers[0].setView(view);
    }
    applyVisibility();
  }

  // Orbiting, zooming or panning one view moves the other identically (same centre, same camera).
  function link(linked) {
    let syncing = false;
    for (const viewer of linked) {
      viewer.controls.addEventListener("change", () => {
        if (syncing) {
          return;
        }
        syncing = true;
        const view = viewer.getView();
        for (const other of linked) {
          if (other !== viewer) {
            other.setView(view);
          }
        }
        syncing = false;
      });
    }
  }

  function applyVisibility() {
    const visible = {};
    for (const key of KEYS) {
      visible[key] = files[key].visible ? files[key].visible.checked : true;
      if (shown[key]) {
        shown[key].object.visible = visible[key];
      }
    }
    if (mode === "overlay" && shown.b) {
      // Alone, b is drawn solid like a.
      shown.b.viewer.setOpacity(shown.b.material, visible.a ? OVERLAY_OPACITY : 1);
    }
    for (const viewer of viewers) {
      viewer.render();
    }
  }

  for (const input of modeInputs) {
    input.addEventListener("change", () => {
      if (input.checked && root.dataset.state === "ready") {
        showMode(input.value);
      }
    });
  }
  for (const key of KEYS) {
    if (files[key].visible) {
      files[key].visible.addEventListener("change", () => {
        if (root.dataset.state === "ready") {
          applyVisibility();
        }
      });
    }
  }
  resetButton.addEventListener("click", () => {
    if (viewers.length) {
      viewers[0].reset(); // the other view follows through the link
    }
  });

  load().catch(fail);
}

// "Revision 1 · design-36-v2.stl: The file could not be downloaded (error 404)."
function labelled(error, label) {
  if (error.name === "AbortError" || !error.userMessage || !label) {
    return error;
  }
  return new PreviewError(`${label}: ${error.userMessage}`);
}
