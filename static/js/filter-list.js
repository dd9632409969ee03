// A search box that narrows a long list of checkboxes (templates/accounts/_languages_field.html):
// shown only when this script runs; without it the whole list stays, in the order given.
document.querySelectorAll("input[data-filter-list]").forEach((box) => {
  const list = document.getElementById(box.dataset.filterList);
  if (!list) return;
  box.hidden = false;
  box.addEventListener("input", () => {
    const wanted = box.value.trim().toLowerCase();
    list.querySelectorAll(".form-check").forEach((item) => {
      const label = item.textContent.trim().toLowerCase();
      const checked = item.querySelector("input").checked;
      item.hidden = wanted !== "" && !checked && !label.includes(wanted);
    });
  });
});
