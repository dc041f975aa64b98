// The overview's subuser rows follow queued and running refreshes and queued webhook set-ups
// without a page reload: while any row is queued or running, its rows are fetched again every few
// seconds and swapped in.
document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("overview-table");
  if (!table) return;
  const busy = () =>
    table.querySelector('tr[data-state="queued"], tr[data-state="running"], tr[data-webhook="queued"]');
  const every = 3000;

  async function update() {
    try {
      const response = await fetch(table.dataset.liveUrl, { credentials: "same-origin" });
      if (!response.ok) return; // signed out or the server is down: try again later
      const part = document.createElement("table");
      part.innerHTML = await response.text();
      for (const section of ["tbody", "tfoot"]) {
        const fresh = part.querySelector(section);
        const current = table.querySelector(section);
        if (fresh && current) current.replaceWith(fresh);
      }
    } finally {
      if (busy()) setTimeout(update, every);
    }
  }

  if (busy()) setTimeout(update, every);
});
