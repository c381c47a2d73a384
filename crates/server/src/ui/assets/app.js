// One application's page: summary, operation, conditions, the resource tree, events, history
// and the sync dialog; kept live by the stream.
import { allowed, announce, api, errorView, h, healthOf, openStream, setMain, shortRevision, sourceOf, status, ui } from "./core.js";
import { drawConditions } from "./conditions.js";
import { eventList } from "./events.js";
import { historyList } from "./history.js";
import { resourceTree } from "./resources.js";
import { operationKey, syncDialog } from "./sync_dialog.js";

const TERMINAL = ["Succeeded", "Failed", "Error"];

function section(id, title, ...content) {
  return h("section", { "aria-labelledby": id + "-title" }, h("h2", { id: id + "-title" }, title), ...content);
}

export async function appView(name) {
  if (!ui.settings.controllerNamespace) ui.settings = await api("GET", "/api/v1/settings");
  const path = "/api/v1/applications/" + encodeURIComponent(name);
  let app = await api("GET", path);
  const maySync = await allowed("sync", app);
  const summary = h("dl", { class: "summary", id: "summary" });
  const conditions = h("div", { id: "conditions" });
  const operation = h("div", { class: "operation", id: "operation", role: "status", "aria-live": "polite", hidden: true });
  const toolbar = h("div", { class: "toolbar" },
    h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/diff" }, "Diff against git"),
    h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/revision", id: "to-revision" }, "Changes at another revision"),
    ui.audit ? h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/audit", id: "to-audit" }, "Audit trail") : null);
  const tree = resourceTree(name);
  const events = eventList(path);
  // The operation this page started (a sync or a rollback): its answer's generation, so older
  // stream events are ignored, and the operation before it, so that one's outcome is not taken
  // for its own.
  let requested = null;
  let previous = null;
  let dialog = null;
  const started = (answer) => {
    previous = operationKey(app);
    requested = answer.metadata.generation || 0;
    draw(answer);
  };
  const history = historyList(name, path, maySync, started);
  if (maySync) {
    const button = h("button", { type: "button", class: "primary", id: "sync", "aria-haspopup": "dialog" }, "Sync…");
    button.addEventListener("click", () => {
      dialog = syncDialog(name, path, () => app, started);
    });
    toolbar.prepend(button);
  }
  const showOperation = (state, phase, message) => {
    operation.hidden = false;
    operation.dataset.started = (state && state.startedAt) || "";
    const by = state && state.operation && state.operation.initiatedBy && state.operation.initiatedBy.username;
    const when = state && state.startedAt
      ? h("div", { class: "muted" }, "Started " + new Date(state.startedAt).toLocaleString() + (by ? " by " + by : ""))
      : null;
    operation.replaceChildren(h("strong", {}, "Operation: "), status(phase, "Operation"), " ", message || "", ...(when ? [when] : []));
  };
  const draw = (latest) => {
    if (requested !== null && (latest.metadata.generation || 0) < requested) return;
    app = latest;
    drawSummary(summary, app);
    drawConditions(conditions, app);
    tree.update(app);
    history.update(app);
    events.update(app);
    if (dialog) dialog.update(app);
    const state = (app.status && app.status.operationState) || null;
    const stale = !state || (TERMINAL.includes(state.phase) && (requested === null || operationKey(app) === previous));
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
    section("summary", "Summary", summary),
    section("conditions", "Conditions", conditions),
    section("resources", "Resources", tree.element),
    section("history", "History", history.element),
    section("events", "Events", events.element));
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
  const history = (app.status && app.status.history) || [];
  const deployed = history.length ? history[history.length - 1].revision || "" : "";
  const rows = [
    ["Project", (app.spec && app.spec.project) || "default"],
    ["Repository", source.repoURL || ""],
    [source.chart ? "Chart" : "Path", source.chart || source.path || "."],
    ["Target revision", source.targetRevision || "HEAD"],
    ["Destination", `${destination.server || destination.name || ""} / ${destination.namespace || ""}`],
    ["Sync", h("span", { id: "app-sync" }, status(sync.status, "Sync"))],
    ["Health", h("span", { id: "app-health" }, status(healthOf(app), "Health"))],
    ["Compared revision", h("code", { id: "app-revision", title: sync.revision || "" }, shortRevision(sync.revision))],
    ["Deployed revision", h("code", { id: "app-deployed", title: deployed }, shortRevision(deployed) || "—")],
    ["Automated sync", app.spec && app.spec.syncPolicy && app.spec.syncPolicy.automated ? "On" : "Off"],
  ];
  summary.replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}
