// ApplicationSets: the list, and one set with its generators, its conditions and the
// Applications it generated (its status.resources, as the ApplicationSet controller writes
// them), each with the live app's sync and health, kept current from the stream.
import { ApiError, api, h, healthOf, openStream, setMain, status, syncOf } from "./core.js";

const setPath = (name) => "/ui/applicationsets/" + encodeURIComponent(name);
// Live apps read one by one when a set lists at most this many; beyond, the set's own record.
const READ_LIVE = 200;

// "list (2 elements)", "git directories", "matrix of list, clusters"…: what each generator is.
export function generatorSummary(generator) {
  const [kind, spec] = Object.entries(generator || {}).find(([key]) => key !== "selector") || ["unknown", {}];
  if (kind === "list") {
    const count = ((spec && spec.elements) || []).length;
    return `list (${count} element${count === 1 ? "" : "s"})`;
  }
  if (kind === "git") {
    const what = spec && spec.files ? "files" : "directories";
    return `git ${what} of ${(spec && spec.repoURL) || "?"} at ${(spec && spec.revision) || "HEAD"}`;
  }
  if (kind === "matrix" || kind === "merge") {
    return `${kind} of ${((spec && spec.generators) || []).map(generatorSummary).join(", ")}`;
  }
  return kind;
}

function conditionOf(set, type) {
  return ((set.status && set.status.conditions) || []).find((c) => c.type === type);
}

export async function appSetListView() {
  const body = h("tbody", { id: "appsets" });
  setMain("ApplicationSets", h("h1", {}, "ApplicationSets"),
    h("table", {},
      h("caption", {}, "ApplicationSets you may read"),
      h("thead", {}, h("tr", {}, ["Name", "Generators", "Applications", "Up to date"].map((c) => h("th", { scope: "col" }, c)))),
      body));
  const listed = await api("GET", "/api/v1/applicationsets");
  if (!listed.items.length) {
    body.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No ApplicationSets.")));
    return;
  }
  body.replaceChildren(...listed.items.map((set) => {
    const name = set.metadata.name;
    const upToDate = conditionOf(set, "ResourcesUpToDate");
    const error = conditionOf(set, "ErrorOccurred");
    return h("tr", { dataset: { appset: name } },
      h("th", { scope: "row" }, h("a", { href: setPath(name) }, name)),
      h("td", {}, ((set.spec && set.spec.generators) || []).map(generatorSummary).join("; ")),
      h("td", { dataset: { field: "apps" } }, String(((set.status && set.status.resources) || []).length)),
      h("td", { dataset: { field: "up-to-date" } }, upToDateCell(error, upToDate)));
  }));
}

export async function appSetView(name) {
  const set = await api("GET", "/api/v1/applicationsets/" + encodeURIComponent(name));
  const spec = set.spec || {};
  const template = (spec.template && spec.template.spec) || {};
  const summary = h("dl", { class: "summary", id: "appset-summary" },
    h("dt", {}, "Generators"),
    h("dd", {}, h("ul", { id: "generators" }, (spec.generators || []).map((g) => h("li", {}, generatorSummary(g))))),
    h("dt", {}, "Project"), h("dd", {}, template.project || "default"),
    h("dt", {}, "Application name"), h("dd", {}, h("code", {}, (spec.template && spec.template.metadata && spec.template.metadata.name) || "")),
    h("dt", {}, "Applications sync"), h("dd", {}, (spec.syncPolicy && spec.syncPolicy.applicationsSync) || "sync"),
    spec.strategy ? [h("dt", {}, "Strategy"), h("dd", {}, spec.strategy.type || "")] : null);
  const conditions = (set.status && set.status.conditions) || [];
  const conditionTable = conditions.length
    ? h("table", { id: "appset-conditions" },
      h("thead", {}, h("tr", {}, ["Type", "Status", "Reason", "Message", "Since"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, conditions.map((c) => h("tr", { dataset: { condition: c.type } },
        h("th", { scope: "row" }, c.type), h("td", {}, c.status), h("td", {}, c.reason || ""),
        h("td", {}, c.message || ""),
        h("td", {}, c.lastTransitionTime ? new Date(c.lastTransitionTime).toLocaleString() : "")))))
    : h("p", { class: "muted", id: "appset-conditions" }, "No conditions yet.");
  const generated = ((set.status && set.status.resources) || []).filter((r) => r.kind === "Application");
  const body = h("tbody", { id: "appset-apps" });
  setMain(name,
    h("p", {}, h("a", { href: "/ui/applicationsets" }, "All ApplicationSets")),
    h("h1", {}, name),
    h("section", { "aria-labelledby": "appset-summary-title" }, h("h2", { id: "appset-summary-title" }, "Summary"), summary),
    h("section", { "aria-labelledby": "appset-conditions-title" }, h("h2", { id: "appset-conditions-title" }, "Conditions"), conditionTable),
    h("section", { "aria-labelledby": "appset-apps-title" },
      h("h2", { id: "appset-apps-title" }, `Generated applications (${generated.length})`),
      h("table", {},
        h("thead", {}, h("tr", {}, ["Name", "Sync", "Health"].map((c) => h("th", { scope: "col" }, c)))),
        body)));
  if (!generated.length) {
    body.append(h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No applications generated yet.")));
    return;
  }
  const rows = new Map();
  body.replaceChildren(...generated.map((r) => {
    const row = appRow(r.name, r.status, r.health && r.health.status);
    rows.set(r.name, row);
    return row;
  }));
  const update = (app) => {
    const row = rows.get(app.metadata.name);
    if (!row) return;
    const fresh = appRow(app.metadata.name, syncOf(app), healthOf(app));
    row.replaceWith(fresh);
    rows.set(app.metadata.name, fresh);
  };
  if (generated.length <= READ_LIVE) {
    await Promise.all(generated.map((r) => api("GET", "/api/v1/applications/" + encodeURIComponent(r.name))
      .then(update, (error) => {
        if (!(error instanceof ApiError) || error.status === 401) throw error;
        // Not readable (or gone): the set's own record stays.
      })));
  }
  openStream("", (type, app) => {
    if (type !== "DELETED") update(app);
  }, () => {});
}

function upToDateCell(error, upToDate) {
  if (error && error.status === "True") return h("span", { class: "status s-Error", title: error.message || "" }, "Error");
  if (!upToDate) return h("span", { class: "status s-Unknown" }, "Not yet");
  return upToDate.status === "True"
    ? h("span", { class: "status s-Synced" }, "Yes")
    : h("span", { class: "status s-OutOfSync", title: upToDate.message || "" }, "No");
}

function appRow(name, sync, health) {
  return h("tr", { dataset: { app: name } },
    h("th", { scope: "row" }, h("a", { href: "/ui/applications/" + encodeURIComponent(name) }, name)),
    h("td", { dataset: { field: "sync" } }, status(sync, "Sync")),
    h("td", { dataset: { field: "health" } }, status(health, "Health")));
}
