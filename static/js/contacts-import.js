// Background import page: polls the job's status and updates the progress bar, the status line
// and (at the end) the list of skipped cards. Without this module the page shows the state it was
// rendered with and a Refresh link.
const root = document.querySelector("[data-import-job]");

if (root) {
  const bar = root.querySelector("[data-import-bar]");
  const status = root.querySelector("[data-import-status]");
  const errorsBox = root.querySelector("[data-import-errors]");
  const errorList = root.querySelector("[data-import-error-list]");
  let delay = 500;

  function render(job) {
    bar.max = Math.max(job.total, 1);
    bar.value = job.done;
    bar.textContent = `${job.done} / ${job.total}`;
    if (job.state === "done") {
      status.textContent = status.dataset.done
        .replace("%(created)s", job.created)
        .replace("%(updated)s", job.updated);
    } else if (job.state === "failed") {
      status.textContent = status.dataset.failed;
    } else if (job.state === "running") {
      status.textContent = status.dataset.running.replace("%(done)s", job.done).replace("%(total)s", job.total);
    }
    if (job.errors.length) {
      errorList.replaceChildren(
        ...job.errors.map((error) => {
          const item = document.createElement("li");
          item.textContent = error.card
            ? `${status.dataset.card.replace("%(number)s", error.card)} ${error.reason}`
            : error.reason;
          return item;
        }),
      );
      errorsBox.hidden = false;
    }
  }

  async function poll() {
    try {
      const response = await fetch(root.dataset.statusUrl, { credentials: "same-origin" });
      if (!response.ok) return; // the job expired or the session ended: the page stays as it is
      const job = await response.json();
      render(job);
      if (job.state === "done" || job.state === "failed") return;
    } catch {
      // a network blip: try again a little later
    }
    delay = Math.min(delay * 1.5, 3000);
    window.setTimeout(poll, delay);
  }

  if (root.dataset.state !== "done" && root.dataset.state !== "failed") {
    window.setTimeout(poll, delay);
  }
}
