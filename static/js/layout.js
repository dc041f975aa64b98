// Narrow screens: the navigation folds behind a "Menu" button, and each table cell is labelled
// with its column's header, so rows stack as cards instead of scrolling sideways (app.css).
// Without this script the page still works: the menu stays open and tables scroll.
document.documentElement.classList.add("js");
document.addEventListener("DOMContentLoaded", () => {
  const header = document.querySelector("header.top");
  const toggle = document.getElementById("menu-toggle");
  if (header && toggle) {
    toggle.addEventListener("click", () => {
      const open = header.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
    });
  }
  label(document);
  // Rows swapped in later (the overview's live update) are labelled too.
  new MutationObserver(() => label(document)).observe(document.body, { childList: true, subtree: true });
});

function label(root) {
  root.querySelectorAll("table.table").forEach((table) => {
    const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    if (!headers.length) return;
    table.classList.add("stackable");
    table.querySelectorAll("tbody tr, tfoot tr").forEach((row) => {
      [...row.children].forEach((cell, i) => {
        if (!cell.hasAttribute("data-label") && headers[i]) cell.setAttribute("data-label", headers[i]);
      });
    });
  });
}
