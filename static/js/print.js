// Buttons marked data-print open the browser's print dialog (receipts). No inline script: the CSP forbids it.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});
