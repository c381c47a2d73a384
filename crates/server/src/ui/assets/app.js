// One application's page: summary, conditions, resources and the Sync button.
import { allowed, announce, api, errorView, h, healthOf, openStream, setMain, shortRevision, sourceOf, status, ui } from "./core.js";

const TERMINAL = ["Succeeded", "Failed", "Error"];

export async function appView(name) {
  if (!ui.settings.controllerNamespace) ui.settings = await api("GET", "/api/v1/settings");
  const path = "/api/v1/applications/" + encodeURIComponent(name);
  let app = await api("GET", path);
  const maySync = await allowed("sync", app);
  const summary = h("dl", { class: "summary", id: "summary" });
  const conditions = h("div", { id: "conditions" });
  const resources = h("tbody", { id: "resources" });
  const operation = h("div", { class: "operation", id: "operation", role: "status", "aria-live": "polite", hidden: true });
  const toolbar = h("div", { class: "toolbar" },
    h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/diff" }, "Diff against git"),
    h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/revision", id: "to-revision" }, "Changes at another revision"),
    ui.audit ? h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/audit", id: "to-audit" }, "Audit trail") : null);
  // The sync this page asked for: its answer's generation, so older stream events are ignored,
  // and when the operation before it started, so that one's outcome is not taken for its own.
  let requested = null;
  let previousStart = null;
  if (maySync) {
    const button = h("button", { type: "button", class: "primary", id: "sync" }, "Sync");
    button.addEventListener("click", async () => {
      button.disabled = true;
      const state = app.status && app.status.operationState;
      previousStart = (state && state.startedAt) || null;
      showOperation(null, "Requested", "Sync requested…");
      try {
        const started = await api("POST", path + "/sync", {});
        requested = started.metadata.generation || 0;
        draw(started);
      } catch (error) {
        requested = null;
        showOperation(null, "Error", "The sync was not started: " + error.message);
      } finally {
        button.disabled = false;
      }
    });
    toolbar.prepend(button);
  }
  const showOperation = (state, phase, message) => {
    operation.hidden = false;
    operation.dataset.started = (state && state.startedAt) || "";
    const started = state && state.startedAt
      ? h("div", { class: "muted" }, "Started " + new Date(state.startedAt).toLocaleString() +
        (state.operation && state.operation.initiatedBy && state.operation.initiatedBy.username
          ? " by " + state.operation.initiatedBy.username : ""))
      : null;
    operation.replaceChildren(h("strong", {}, "Operation: "), status(phase, "Operation"), " ", message || "", started);
  };
  const draw = (latest) => {
    if (requested !== null && (latest.metadata.generation || 0) < requested) return;
    app = latest;
    drawSummary(summary, app);
    drawConditions(conditions, app);
    drawResources(resources, app);
    const state = (app.status && app.status.operationState) || null;
    const stale = !state || (TERMINAL.includes(state.phase) && (requested === null || state.startedAt === previousStart));
    if ((app.operation || requested !== null) && stale) {
      showOperation(null, "Requested", "Waiting for the controller to start the sync…");
    } else if (state) {
      showOperation(state, state.phase, state.message);
      if (requested !== null && !stale && TERMINAL.includes(state.phase)) {
        announce(`Sync of ${name}: ${state.phase}`);
        requested = null;
      }
    }
  };
  setMain(name,
    h("h1", {}, name),
    toolbar,
    operation,
    h("section", { "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, "Summary"), summary),
    h("section", { "aria-labelledby": "conditions-title" }, h("h2", { id: "conditions-title" }, "Conditions"), conditions),
    h("section", { "aria-labelledby": "resources-title" },
      h("h2", { id: "resources-title" }, "Resources"),
      h("table", {},
        h("thead", {}, h("tr", {}, ["Kind", "Name", "Namespace", "Sync", "Health", ""].map((c) =>
          h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" }, "Actions"))))),
        resources)));
  draw(app);
  openStream("?name=" + encodeURIComponent(name), (type, changed) => {
    if (type === "DELETED") {
      showOperation(null, "Unknown", "This application was deleted.");
      return;
    }
    draw(changed);
  }, () => api("GET", path).then(draw).catch(errorView));
}

function drawSummary(summary, app) {
  const source = sourceOf(app);
  const destination = (app.spec && app.spec.destination) || {};
  const sync = (app.status && app.status.sync) || {};
  const rows = [
    ["Project", (app.spec && app.spec.project) || "default"],
    ["Repository", source.repoURL || ""],
    [source.chart ? "Chart" : "Path", source.chart || source.path || "."],
    ["Target revision", source.targetRevision || "HEAD"],
    ["Destination", `${destination.server || destination.name || ""} / ${destination.namespace || ""}`],
    ["Sync", h("span", { id: "app-sync" }, status(sync.status, "Sync"))],
    ["Health", h("span", { id: "app-health" }, status(healthOf(app), "Health"))],
    ["Revision", h("code", { title: sync.revision || "" }, shortRevision(sync.revision))],
    ["Automated sync", app.spec && app.spec.syncPolicy && app.spec.syncPolicy.automated ? "On" : "Off"],
  ];
  summary.replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function drawConditions(target, app) {
  const list = (app.status && app.status.conditions) || [];
  if (!list.length) {
    target.replaceChildren(h("p", { class: "muted" }, "No conditions."));
    return;
  }
  target.replaceChildren(h("ul", { class: "conditions" },
    list.map((c) => h("li", {}, h("strong", {}, c.type), ": ", c.message || ""))));
}

function resourceKey(r) {
  return [r.group || "", r.kind, r.namespace || "", r.name].join("/");
}

function drawResources(body, app) {
  // Redrawn on every change: a focused Diff link is focused again in its new row.
  const focused = body.contains(document.activeElement) && document.activeElement.closest("tr");
  const refocus = focused ? focused.dataset.resource : null;
  drawResourceRows(body, app);
  if (refocus) {
    const row = [...body.rows].find((r) => r.dataset.resource === refocus);
    const link = row && row.querySelector("a");
    if (link) link.focus();
  }
}

function drawResourceRows(body, app) {
  const nodes = ((app.status && app.status.resources) || []).slice()
    .sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
  if (!nodes.length) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No resources recorded yet.")));
    return;
  }
  body.replaceChildren(...nodes.map((r) => {
    const health = r.health && r.health.status;
    const diff = new URLSearchParams({ group: r.group || "", kind: r.kind, namespace: r.namespace || "", name: r.name });
    return h("tr", { dataset: { resource: `${r.kind}/${r.name}` } },
      h("td", {}, r.kind),
      h("th", { scope: "row" }, r.name),
      h("td", {}, r.namespace || ""),
      h("td", { dataset: { field: "sync" } }, status(r.status, "Sync")),
      h("td", { dataset: { field: "health" } }, health ? status(health, "Health") : h("span", { class: "muted" }, "—"),
        r.health && r.health.message ? h("div", { class: "muted" }, r.health.message) : null),
      h("td", {}, h("a", {
        href: `/ui/applications/${encodeURIComponent(app.metadata.name)}/diff?${diff}`,
        "aria-label": `Diff of ${r.kind} ${r.name}`,
      }, "Diff")));
  }));
}

// ---- Diff ----
