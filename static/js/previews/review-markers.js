// The marker layer over the design review canvas (review.js): a numbered button for each
// [data-pin] of the list (templates/orders/_pins.html), rebuilt when the list changes, and the
// temporary markers (the new pin's "+", a measurement's A and B). After every frame each marker
// goes where its point is drawn. The data-* attributes and classes written here are the
// contract with the templates, site.css and the browser tests.
import { parseTriple } from "./review-numbers.js";

// stage: [data-review-stage]; reducedMotion: the prefers-reduced-motion media query.
// Nothing is drawn until attach(viewer): before that every call only updates the state.
export function createMarkers(stage, reducedMotion) {
  let viewer = null;
  let overlay = null; // [data-review-markers]
  // pinMarkers: one per [data-pin], rebuilt when the list changes;
  // temporary: the new pin's marker and the measurement's two ends.
  let pinMarkers = [];
  let pinsSignature = null;
  let activeNumber = null;
  const temporary = new Map(); // key → { element, point, normal }

  // The model is drawn: the layer goes over its canvas and follows every frame.
  function attach(drawn) {
    viewer = drawn;
    overlay = document.createElement("div");
    overlay.className = "pin-markers";
    overlay.dataset.reviewMarkers = "";
    stage.append(overlay);
    viewer.onRender(place);
    overlay.addEventListener("click", onMarkerClick);
  }

  // The viewer was disposed (the page failed after drawing it): nothing to place any more.
  function detach() {
    viewer = null;
  }

  function readPins() {
    return [...document.querySelectorAll("[data-pin]")].map((element) => ({
      element,
      number: element.dataset.pinNumber,
      kind: element.dataset.pinKind,
      point: parseTriple(element.dataset.point),
      normal: parseTriple(element.dataset.normal),
      end: parseTriple(element.dataset.end),
      resolved: element.dataset.resolved === "1",
      carried: element.dataset.carried === "1",
    }));
  }

  // Re-reads the list (after every htmx swap of #pins): the pins' markers are rebuilt only if
  // a pin was added, removed or changed.
  function sync() {
    const pins = readPins();
    const signature = JSON.stringify(
      pins.map(({ number, kind, point, normal, end, resolved, carried }) => [number, kind, point, normal, end, resolved, carried])
    );
    if (signature !== pinsSignature) {
      pinsSignature = signature;
      for (const marker of pinMarkers) {
        marker.element.remove();
        if (marker.end) {
          marker.end.element.remove();
        }
        if (marker.segment) {
          marker.segment.remove();
        }
      }
      pinMarkers = pins.filter((pin) => pin.point && pin.number).map(buildPinMarker);
      // Keep the temporary markers after (on top of) the pins' ones.
      for (const { element } of temporary.values()) {
        overlay.append(element);
      }
    }
    // The list's elements are new after a swap: show the active pin again.
    if (activeNumber !== null) {
      setActive(activeNumber);
    }
    place();
  }

  function buildPinMarker(pin) {
    const element = document.createElement("button");
    element.type = "button";
    element.className = "pin-marker";
    element.dataset.marker = pin.number;
    element.setAttribute("aria-label", `Pin ${pin.number}`);
    element.textContent = pin.number;
    element.classList.toggle("is-resolved", pin.resolved);
    element.classList.toggle("is-carried", pin.carried);
    overlay.append(element);
    const marker = { element, point: pin.point, normal: pin.normal, end: null, segment: null };
    if (pin.kind === "measurement" && pin.end) {
      const end = document.createElement("span");
      end.className = "pin-marker pin-marker-end";
      end.dataset.markerEnd = pin.number;
      end.setAttribute("aria-hidden", "true");
      overlay.append(end);
      marker.end = { element: end, point: pin.end, normal: null };
      marker.segment = viewer.addSegment(pin.point, pin.end);
    }
    return marker;
  }

  // Temporary markers are not buttons (nothing to do with them): hidden from screen readers,
  // which hear the form's "New pin at …" or the measurement instead.
  function setTemporary(key, point, normal, { label, className }) {
    removeTemporary(key);
    const element = document.createElement("span");
    element.className = `pin-marker ${className}`;
    element.dataset[key === "new" ? "markerNew" : "markerMeasure"] = key === "new" ? "" : key.slice(-1);
    element.setAttribute("aria-hidden", "true");
    element.textContent = label;
    overlay.append(element);
    temporary.set(key, { element, point, normal });
    place();
  }

  function removeTemporary(key) {
    const marker = temporary.get(key);
    if (marker) {
      marker.element.remove();
      temporary.delete(key);
    }
  }

  // Called after every frame: each marker goes where its point is drawn.
  function place() {
    if (!viewer || !overlay) {
      return;
    }
    const stageBox = stage.getBoundingClientRect();
    const canvasBox = viewer.canvas.getBoundingClientRect();
    const overlayBox = overlay.getBoundingClientRect();
    const placeOne = (marker) => {
      const { x, y, inView } = viewer.project(marker.point);
      marker.element.hidden = !inView;
      if (!inView) {
        return;
      }
      const left = canvasBox.left - overlayBox.left + x;
      const top = canvasBox.top - overlayBox.top + y;
      marker.element.style.left = `${left}px`;
      marker.element.style.top = `${top}px`;
      marker.element.dataset.screenX = (canvasBox.left - stageBox.left + x).toFixed(1);
      marker.element.dataset.screenY = (canvasBox.top - stageBox.top + y).toFixed(1);
      if (marker.normal) {
        marker.element.classList.toggle("is-behind", !viewer.faces(marker.point, marker.normal));
      }
    };
    for (const marker of pinMarkers) {
      placeOne(marker);
      if (marker.end) {
        placeOne(marker.end);
      }
    }
    for (const marker of temporary.values()) {
      placeOne(marker);
    }
  }

  function pinElement(number) {
    return document.getElementById(`pin-${number}`);
  }

  // The pin's marker and its entry in the list are highlighted (null: none).
  function setActive(number) {
    activeNumber = number;
    for (const element of document.querySelectorAll(".pin-marker.is-active, [data-pin].is-active")) {
      element.classList.remove("is-active");
    }
    if (number === null) {
      return;
    }
    const marker = overlay && overlay.querySelector(`[data-marker="${CSS.escape(number)}"]`);
    if (marker) {
      marker.classList.add("is-active");
    }
    const pin = pinElement(number);
    if (pin) {
      pin.classList.add("is-active");
    }
  }

  // A marker leads to its comment in the list.
  function onMarkerClick(event) {
    const marker = event.target.closest("button[data-marker]");
    if (!marker) {
      return;
    }
    const number = marker.dataset.marker;
    setActive(number);
    const pin = pinElement(number);
    if (pin) {
      pin.scrollIntoView({ block: "nearest", behavior: reducedMotion.matches ? "auto" : "smooth" });
      const fly = pin.querySelector("[data-pin-fly]");
      if (fly) {
        fly.focus({ preventScroll: true });
      }
    }
  }

  return { attach, detach, sync, setTemporary, removeTemporary, setActive };
}
