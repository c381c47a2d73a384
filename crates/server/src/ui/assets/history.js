// The app's deployments (status.history, newest first) with a Rollback to any earlier one for
// a user who may sync the app, after a confirm step.
import { api, h, shortRevision } from "./core.js";
import { confirmStep } from "./dialog.js";

function revisionOf(entry) {
  return entry.revision || (entry.revisions || []).join(", ");
}

export function historyList(name, path, maySync, onStarted) {
  const body = h("tbody", { id: "history" });
  const message = h("p", { id: "rollback-message", role: "status", "aria-live": "polite" });
  let shown = "";

  const rollback = async (entry, button) => {
    const revision = shortRevision(revisionOf(entry));
    const sure = await confirmStep("rollback-dialog", "Roll back " + name + "?",
      `This syncs ${name} to revision ${revision} (deployment ${entry.id}). Objects added since stay unless a later sync prunes them.`,
      "Roll back to " + revision);
    if (!sure) return;
    button.disabled = true;
    message.textContent = `Rolling back to ${revision}…`;
    try {
      const started = await api("POST", path + "/rollback", { id: entry.id });
      message.textContent = `Rollback to ${revision} requested.`;
      onStarted(started);
    } catch (error) {
      message.textContent = "The rollback was not started: " + error.message;
    } finally {
      button.disabled = false;
    }
  };

  const update = (app) => {
    const entries = ((app.status && app.status.history) || []).slice().reverse();
    const key = JSON.stringify(entries.map((e) => e.id));
    if (key === shown) return;
    shown = key;
    if (!entries.length) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "Nothing deployed yet.")));
      return;
    }
    body.replaceChildren(...entries.map((entry, i) => {
      const source = entry.source || (entry.sources && entry.sources[0]) || {};
      const revision = revisionOf(entry);
      const button = maySync && i > 0 ? h("button", {
        type: "button", dataset: { rollback: String(entry.id) },
        "aria-label": `Roll back to deployment ${entry.id}, revision ${shortRevision(revision)}`,
      }, "Rollback") : null;
      if (button) button.addEventListener("click", () => rollback(entry, button));
      return h("tr", { dataset: { history: String(entry.id) } },
        h("td", {}, String(entry.id)),
        h("td", { dataset: { field: "revision" } }, h("code", { title: revision }, shortRevision(revision)),
          i === 0 ? h("span", { class: "muted" }, " (current)") : null),
        h("td", {}, entry.deployedAt ? new Date(entry.deployedAt).toLocaleString() : ""),
        h("td", {}, (entry.initiatedBy && (entry.initiatedBy.username || (entry.initiatedBy.automated ? "automated sync" : ""))) || ""),
        h("td", {}, source.chart || source.path || ""),
        h("td", {}, button));
    }));
  };

  return {
    element: h("div", {}, message,
      h("table", {},
        h("thead", {}, h("tr", {}, ["ID", "Revision", "Deployed", "By", "Source", ""].map((c) =>
          h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" }, "Actions"))))),
        body)),
    update,
  };
}
