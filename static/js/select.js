// "Select all" for the bounce list's checkboxes (the page works without it).
document.addEventListener("DOMContentLoaded", () => {
  const all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", () => {
    document.querySelectorAll('input[name="bounce"][form="select-form"]').forEach((box) => {
      box.checked = all.checked;
    });
  });
});
