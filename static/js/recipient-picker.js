// The listing form's client search (templates/listings/_recipient_picker.html). htmx sends
// the search as the seller types; Enter in the box searches at once instead of submitting
// (and saving) the whole listing form. No inline script: the CSP forbids it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-recipient-search]").forEach((box) => {
    box.addEventListener("keydown", (event) => {
      if (event.key !== "Enter") return;
      event.preventDefault();
      box.dispatchEvent(new Event("search"));
    });
  });
});
