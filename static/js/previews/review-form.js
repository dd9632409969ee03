// The pin form of the design review page (templates/orders/_pins.html, inside #pins, which htmx
// replaces after every add, resolve or remove). review.js opens it at a picked point or for a
// measurement; this fills the hidden fields the server parses (`Vector`, `Camera` in
// orders/forms.py), all in the file's own coordinates, and keeps the new pin's "+" marker
// (review-markers.js) as long as the form is open for it.
import { distance, oneDecimal, parseTriple, triple } from "./review-numbers.js";

// markers: the marker layer (review-markers.js); onMeasurementSaved: called when the form
// opened for a measurement comes back hidden after a swap (the measurement is a pin now).
export function createPinForm({ markers, onMeasurementSaved }) {
  let openedFor = null; // "comment" | "measurement" while the pin form is open for our pick

  function pinForm() {
    return document.querySelector("[data-pin-form]");
  }

  // A new comment at the picked point: the form is filled and shown, with a marker there.
  function openComment(hit, viewer) {
    const filled = open(
      {
        kind: "comment",
        point: triple(hit.point, 4),
        normal: triple(hit.normal, 6),
        end: "",
        camera: cameraJson(viewer),
      },
      pointText(hit.point),
      "comment"
    );
    if (filled) {
      markers.setTemporary("new", hit.point, hit.normal, { label: "+", className: "is-new" });
    }
  }

  // A measurement from a to b (two picks) saved as a pin; its text is optional.
  function openMeasurement(a, b, viewer) {
    open(
      {
        kind: "measurement",
        point: triple(a.point, 4),
        normal: triple(a.normal, 6),
        end: triple(b.point, 4),
        camera: cameraJson(viewer),
      },
      measurementText(a.point, b.point),
      "measurement"
    );
  }

  function open(values, where, purpose) {
    const form = pinForm();
    if (!form) {
      return false;
    }
    for (const [name, value] of Object.entries(values)) {
      const field = form.elements.namedItem(name);
      if (field) {
        field.value = value;
      }
    }
    const whereText = form.querySelector("[data-pin-form-where]");
    if (whereText) {
      whereText.textContent = where;
    }
    if (purpose === "measurement") {
      markers.removeTemporary("new"); // the measurement's ends are marked already
    }
    openedFor = purpose;
    form.hidden = false;
    const text = form.querySelector("textarea");
    if (text) {
      text.focus({ preventScroll: true });
    }
    form.scrollIntoView({ block: "nearest" });
    return true;
  }

  function cancel() {
    const form = pinForm();
    if (form) {
      form.hidden = true;
      for (const name of ["point", "normal", "end", "camera"]) {
        const field = form.elements.namedItem(name);
        if (field) {
          field.value = "";
        }
      }
      const kind = form.elements.namedItem("kind");
      if (kind) {
        kind.value = "comment";
      }
      const whereText = form.querySelector("[data-pin-form-where]");
      if (whereText) {
        whereText.textContent = "";
      }
    }
    openedFor = null;
    markers.removeTemporary("new");
  }

  // After htmx replaced #pins: a form that came back hidden means the pin was saved (or the
  // list changed under it): its temporary marker goes, and a saved measurement is now a pin.
  // A form that came back shown has errors to fix (its fields keep their values): say again
  // where the pin goes, which the server leaves to us.
  function sync() {
    const form = pinForm();
    if (openedFor && (!form || form.hidden)) {
      if (openedFor === "measurement") {
        onMeasurementSaved();
      }
      openedFor = null;
      markers.removeTemporary("new");
      return;
    }
    const whereText = form && !form.hidden && form.querySelector("[data-pin-form-where]");
    if (whereText && !whereText.textContent) {
      const value = (name) => (form.elements.namedItem(name) ? form.elements.namedItem(name).value : "");
      const point = parseTriple(value("point"));
      const end = parseTriple(value("end"));
      if (point && value("kind") === "measurement" && end) {
        whereText.textContent = measurementText(point, end);
      } else if (point) {
        whereText.textContent = pointText(point);
      }
    }
  }

  return {
    openComment,
    openMeasurement,
    cancel,
    sync,
    // True while the form is open for a pick of ours (Escape closes it).
    get isOpen() {
      return openedFor !== null;
    },
  };
}

// The view when the pin is placed (its number flies back to it), in file coordinates.
function cameraJson(viewer) {
  const view = viewer.getView();
  const round = (values) => values.map((value) => Number(value.toFixed(4)) || 0);
  return JSON.stringify({ position: round(view.position), target: round(view.target), up: round(view.up) });
}

// What the form says above its text box (the server leaves it empty).
function pointText(point) {
  return `New pin at ${point.map((value) => oneDecimal(value)).join(", ")}`;
}

function measurementText(a, b) {
  return `Measurement ${distance(a, b).toFixed(2)} mm`;
}
