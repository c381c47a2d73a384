// The audit trail: who did what, when, with what outcome, newest first, a page at a time; the
// filters are the API's own. The server answers only the entries of apps (and projects) the
// caller may read; the chain's verification is shown to those who may read every app.
import { api, h, setMain, shortRevision } from "./core.js";
import { diffText } from "./diff.js";

const PAGE = 50;
const KINDS = ["SyncStarted", "SyncCompleted", "ObjectApplied", "ObjectPruned", "HookRun",
  "SyncLoopTripped", "GuardRefused", "ApplicationEdited", "ProjectEdited"];
const FILTERS = [["app", "Application"], ["user", "User"], ["object", "Object (part of)"],
  ["since", "Since (RFC 3339)"], ["until", "Until (RFC 3339)"]];

// Whether this server keeps an audit log the caller may read: the nav offers it only then.
export async function auditReadable() {
  try {
    await api("GET", "/api/v1/audit?limit=1");
    return true;
  } catch (error) {
    if (error.status === 401) throw error;
    return false;
  }
}

export async function auditView(params, app) {
  const filters = {};
  for (const [key] of FILTERS) filters[key] = params.get(key) || "";
  filters.kind = params.get("kind") || "";
  if (app) filters.app = app;
  const limit = Number(params.get("limit")) || PAGE;
  const fields = FILTERS.filter(([key]) => !(app && key === "app")).map(([key, label]) => h("div", {},
    h("label", { for: "audit-" + key }, label),
    h("input", { id: "audit-" + key, name: key, value: filters[key], type: "search" })));
  const kind = h("select", { id: "audit-kind", name: "kind" },
    h("option", { value: "" }, "Any"), KINDS.map((k) => h("option", { value: k, selected: k === filters.kind }, k)));
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter the audit trail" },
    fields, h("div", {}, h("label", { for: "audit-kind" }, "What"), kind),
    h("button", { type: "submit" }, "Filter"));
  const verify = h("div", { id: "audit-verify", class: "operation", role: "status", hidden: true });
  const body = h("tbody", { id: "audit" });
  const caption = h("caption", { id: "audit-caption" });
  const newer = h("button", { type: "button", id: "audit-newer" }, "Newer");
  const older = h("button", { type: "button", id: "audit-older" }, "Older");
  const title = app ? `Audit trail of ${app}` : "Audit trail";
  // setMain takes only nodes: the link back to the app is a paragraph only when there is one.
  const back = h("p", { hidden: !app }, app ? h("a", { href: "/ui/applications/" + encodeURIComponent(app) }, "Back to " + app) : null);
  setMain(title, back,
    h("h1", {}, title), verify, form,
    h("table", { "aria-describedby": "audit-caption" }, caption,
      h("thead", {}, h("tr", {}, ["#", "When", "What", "Application", "Who", "Details", "Outcome"].map((c) => h("th", { scope: "col" }, c)))),
      body),
    h("nav", { class: "pager", "aria-label": "Pages" }, newer, older));

  // The `beforeSeq` of each page shown before this one (null: the newest).
  let trail = [];
  let current = null;
  const load = async (before) => {
    const q = new URLSearchParams({ newestFirst: "true", limit: String(limit) });
    for (const [key, value] of Object.entries(filters)) if (value) q.set(key, value);
    if (before) q.set("beforeSeq", String(before));
    const page = await api("GET", "/api/v1/audit?" + q);
    current = before;
    body.replaceChildren(...page.items.map(entryRow));
    if (!page.items.length) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No entries.")));
    const last = page.metadata && page.metadata.lastSeq;
    caption.textContent = page.items.length
      ? `Entries ${page.items[0].seq} to ${page.items[page.items.length - 1].seq}, newest first`
      : "No entries";
    newer.disabled = trail.length === 0;
    older.disabled = !last || last <= 1;
    older.dataset.before = last || "";
  };
  newer.addEventListener("click", () => load(trail.pop() || null).catch(showError));
  older.addEventListener("click", () => {
    trail.push(current);
    load(Number(older.dataset.before)).catch(showError);
  });
  const showError = (error) => {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "error", role: "alert" }, error.message)));
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    for (const [key] of FILTERS) {
      const input = form.querySelector("#audit-" + key);
      if (input) filters[key] = input.value.trim();
    }
    filters.kind = kind.value;
    const shown = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value && !(app && key === "app")) shown.set(key, value);
    if (limit !== PAGE) shown.set("limit", String(limit));
    history.replaceState(null, "", location.pathname + (String(shown) ? "?" + shown : ""));
    trail = [];
    load(null).catch(showError);
  });
  await Promise.all([load(null), showVerification(verify)]);
}

async function showVerification(target) {
  const everything = await api("GET", "/api/v1/account/can-i/applications/get/*/*").catch(() => ({}));
  target.dataset.asked = "true";
  if (everything.value !== "yes") return;
  target.hidden = false;
  target.replaceChildren(h("span", { class: "muted" }, "Verifying the audit chain…"));
  try {
    const result = await api("GET", "/api/v1/audit/verify");
    target.dataset.verified = String(result.verified);
    target.replaceChildren(result.verified
      ? h("span", {}, h("strong", { class: "status s-Succeeded" }, "Verified"),
        ` ${result.entries} entries (from ${result.first}` + (result.head ? ` to ${result.head.seq}` : "") +
        `), ${result.checkpoints} signed checkpoint${result.checkpoints === 1 ? "" : "s"}.`)
      : h("span", {}, h("strong", { class: "status s-Failed" }, "Verification failed"), " " + (result.message || "")));
  } catch (error) {
    if (error.status === 401) throw error;
    target.dataset.verified = "unknown";
    target.replaceChildren(h("span", { class: "error" }, "The chain could not be verified: " + error.message));
  }
}

function entryRow(entry) {
  const app = entry.app ? entry.app.split("/").pop() : "";
  const details = [
    entry.object ? h("div", {}, h("code", {}, entry.object)) : null,
    entry.trigger ? h("div", { class: "muted" }, "trigger: " + entry.trigger) : null,
    entry.revision ? h("div", { class: "muted" }, "revision: ", h("code", { title: entry.revision }, shortRevision(entry.revision))) : null,
    entry.project && !entry.app ? h("div", { class: "muted" }, "project: " + entry.project) : null,
    // Secret values in it were masked before it was recorded.
    entry.diff ? h("details", {}, h("summary", {}, "Diff"), diffText(entry.diff)) : null,
  ];
  const outcome = entry.result
    ? h("span", { class: "status s-" + entry.result }, entry.result)
    : h("span", { class: "muted" }, "—");
  return h("tr", { dataset: { seq: String(entry.seq), kind: entry.kind } },
    h("td", {}, String(entry.seq)),
    h("td", {}, h("time", { datetime: entry.time }, new Date(entry.time).toLocaleString())),
    h("td", { dataset: { field: "kind" } }, entry.kind),
    h("td", {}, app ? h("a", { href: "/ui/applications/" + encodeURIComponent(app), title: entry.app }, app) : ""),
    h("td", { dataset: { field: "user" } }, entry.user || ""),
    h("td", {}, details),
    h("td", { dataset: { field: "outcome" } }, outcome,
      entry.message ? h("div", { class: "muted" }, entry.message) : null,
      entry.durationMs !== undefined ? h("div", { class: "muted" }, `${entry.durationMs} ms`) : null));
}
