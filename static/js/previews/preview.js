// 3D preview of STL, PLY and OBJ files: the "Preview" buttons rendered by
// templates/previews/_file.html. Nothing heavy happens before a click. Then the file is
// downloaded with a progress bar, parsed in a worker (mesh-worker.js) so a large file does
// not freeze the page, and shown by viewer.js (three.js, loaded on demand).
// See docs/previews.md.
import { download, NO_WEBGL, PreviewError, progressText, webglAvailable } from "./common.js";

const MODAL_CLASS = "preview-modal";

let dialog = null; // the one modal, built on first use
let current = null; // the preview being loaded or shown

function buildDialog() {
  const element = document.createElement("div");
  element.className = `modal fade ${MODAL_CLASS}`;
  element.tabIndex = -1;
  element.setAttribute("aria-labelledby", "preview-title");
  element.setAttribute("aria-hidden", "true");
  element.dataset.testid = "preview-dialog";
  element.innerHTML = `
    <div class="modal-dialog modal-xl modal-dialog-centered">
      <div class="modal-content">
        <div class="modal-header">
          <h2 class="modal-title h5 text-truncate" id="preview-title"></h2>
          <button type="button" class="btn-close" data-bs-dismiss="modal" aria-label="Close"></button>
        </div>
        <div class="modal-body">
          <div class="preview-status" role="status" data-testid="preview-status">
            <p class="preview-message mb-2"></p>
            <div class="progress" role="progressbar" aria-label="Download progress" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0">
              <div class="progress-bar"></div>
            </div>
          </div>
          <div class="preview-stage" hidden></div>
        </div>
        <div class="modal-footer justify-content-between">
          <span class="preview-size small" data-testid="preview-size"></span>
          <div class="d-flex gap-2">
            <button type="button" class="btn btn-outline-secondary btn-sm" data-preview-action="reset" disabled>Reset view</button>
            <button type="button" class="btn btn-outline-secondary btn-sm" data-preview-action="wireframe" aria-pressed="false" disabled>Wireframe</button>
          </div>
        </div>
      </div>
    </div>`;
  document.body.append(element);
  const parts = {
    element,
    modal: new window.bootstrap.Modal(element),
    title: element.querySelector(".modal-title"),
    status: element.querySelector(".preview-status"),
    message: element.querySelector(".preview-message"),
    progress: element.querySelector(".progress"),
    bar: element.querySelector(".progress-bar"),
    stage: element.querySelector(".preview-stage"),
    size: element.querySelector(".preview-size"),
    reset: element.querySelector("[data-preview-action=reset]"),
    wireframe: element.querySelector("[data-preview-action=wireframe]"),
  };
  element.addEventListener("hidden.bs.modal", stop);
  parts.reset.addEventListener("click", () => current && current.viewer && current.viewer.reset());
  parts.wireframe.addEventListener("click", () => {
    if (!current || !current.viewer) {
      return;
    }
    const on = parts.wireframe.getAttribute("aria-pressed") !== "true";
    current.viewer.setWireframe(on);
    parts.wireframe.setAttribute("aria-pressed", String(on));
    parts.wireframe.classList.toggle("active", on);
  });
  return parts;
}

function setState(state, message) {
  dialog.element.dataset.state = state;
  dialog.message.textContent = message;
  dialog.message.classList.toggle("text-danger", state === "error");
  dialog.status.hidden = state === "ready";
  dialog.progress.hidden = state === "error";
  dialog.bar.classList.toggle("progress-bar-striped", state === "preparing");
  dialog.bar.classList.toggle("progress-bar-animated", state === "preparing");
}

function showProgress(received, total) {
  const percent = total ? Math.min(100, Math.round((received / total) * 100)) : 0;
  dialog.bar.style.width = `${percent}%`;
  dialog.progress.setAttribute("aria-valuenow", String(percent));
  dialog.message.textContent = progressText(received, total);
}

function stop() {
  if (!current) {
    return;
  }
  current.closed = true;
  current.abort.abort();
  if (current.worker) {
    current.worker.terminate();
  }
  if (current.viewer) {
    current.viewer.dispose();
  }
  current = null;
  if (dialog) {
    dialog.stage.replaceChildren();
    dialog.stage.hidden = true;
  }
}

async function open(button) {
  stop();
  dialog = dialog || buildDialog();
  const run = { abort: new AbortController(), closed: false, worker: null, viewer: null };
  current = run;
  dialog.title.textContent = button.dataset.previewName;
  dialog.size.textContent = "";
  dialog.bar.style.width = "0%";
  dialog.reset.disabled = true;
  dialog.wireframe.disabled = true;
  dialog.wireframe.setAttribute("aria-pressed", "false");
  dialog.wireframe.classList.remove("active");
  setState("downloading", "Downloading…");
  dialog.modal.show();
  try {
    if (!webglAvailable()) {
      throw new PreviewError(
        `${NO_WEBGL} Download the file to open it in your CAD software.`
      );
    }
    const viewerModule = import("./viewer.js"); // loads while the file downloads
    const buffer = await download(button.dataset.previewUrl, Number(button.dataset.previewSize), run.abort.signal, showProgress);
    if (run.closed) {
      return;
    }
    setState("preparing", "Preparing the 3D view…");
    dialog.bar.style.width = "100%";
    const { parseMesh, createViewer } = await viewerModule;
    const mesh = await parseMesh(buffer, button.dataset.previewFormat, run);
    if (run.closed) {
      return;
    }
    dialog.stage.hidden = false;
    run.viewer = createViewer(dialog.stage, mesh);
    const [x, y, z] = run.viewer.size;
    dialog.size.textContent = `${x.toFixed(1)} × ${y.toFixed(1)} × ${z.toFixed(1)} mm · ${mesh.triangles.toLocaleString("en")} ${
      mesh.points ? "points" : "triangles"
    }`;
    dialog.reset.disabled = false;
    dialog.wireframe.disabled = Boolean(mesh.points);
    setState("ready", "");
  } catch (error) {
    if (run.closed || error.name === "AbortError") {
      return;
    }
    if (!error.userMessage) {
      console.warn("3D preview failed", error);
    }
    dialog.stage.hidden = true;
    setState("error", error.userMessage || "This file could not be shown in 3D. Download it to open it in your CAD software.");
  }
}

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-preview-mesh]");
  if (button) {
    event.preventDefault();
    open(button);
  }
});
