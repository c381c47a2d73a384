// The application list: filters, search, paging and live status from the stream.
import { announce, api, errorView, h, healthOf, openStream, setMain, shortRevision, status, syncOf } from "./core.js";

const PAGE_SIZE = 20;
const SYNC_STATES = ["Synced", "OutOfSync", "Unknown"];
const HEALTH_STATES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];

function select(id, label, choices, value) {
  return h("div", {},
    h("label", { for: id }, label),
    h("select", { id, name: id },
      h("option", { value: "" }, "Any"),
      choices.map((c) => h("option", { value: c, selected: c === value }, c))));
}

export async function listView(params) {
  const filters = {
    search: params.get("search") || "",
    sync: params.get("sync") || "",
    health: params.get("health") || "",
  };
  const limit = Number(params.get("limit")) || PAGE_SIZE;
  // The continue tokens of the pages before this one (the API pages forward only).
  let trail = [];
  let current = null;
  const search = h("input", { id: "search", name: "search", type: "search", value: filters.search,
    placeholder: "Part of a name" });
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter applications" },
    h("div", {}, h("label", { for: "search" }, "Search"), search),
    select("sync", "Sync status", SYNC_STATES, filters.sync),
    select("health", "Health", HEALTH_STATES, filters.health));
  const body = h("tbody", { id: "apps" });
  const caption = h("caption", { id: "apps-caption" });
  const table = h("table", { "aria-describedby": "apps-caption" }, caption,
    h("thead", {}, h("tr", {}, ["Name", "Project", "Sync", "Health", "Revision"].map((c) => h("th", { scope: "col" }, c)))),
    body);
  const previous = h("button", { type: "button", id: "previous" }, "Previous page");
  const next = h("button", { type: "button", id: "next" }, "Next page");
  const pageInfo = h("span", { class: "muted", id: "page-info" });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" }, previous, pageInfo, next);
  const notice = h("p", { class: "muted", id: "list-notice" });
  setMain("Applications", h("h1", {}, "Applications"), form, notice, table, pager);

  const query = (after) => {
    const q = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value) q.set(key, value);
    q.set("limit", String(limit));
    if (after) q.set("continue", after);
    return q;
  };
  const rows = new Map();
  const load = async (after) => {
    const listed = await api("GET", "/api/v1/applications?" + query(after));
    current = after;
    rows.clear();
    body.replaceChildren(...listed.items.map((app) => {
      const row = appRow(app);
      rows.set(app.metadata.name, row);
      return row;
    }));
    if (!listed.items.length) body.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No applications match.")));
    const meta = listed.metadata || {};
    const start = trail.length * limit;
    caption.textContent = meta.totalItemCount
      ? `Applications ${start + 1}–${start + listed.items.length} of ${meta.totalItemCount}`
      : "No applications";
    pageInfo.textContent = `Page ${trail.length + 1}`;
    previous.disabled = trail.length === 0;
    next.disabled = !meta.continue;
    next.dataset.after = meta.continue || "";
    notice.textContent = "";
  };
  previous.addEventListener("click", () => load(trail.pop() || null).catch(errorView));
  next.addEventListener("click", () => {
    trail.push(current);
    load(next.dataset.after).catch(errorView);
  });
  let typing = null;
  const refilter = () => {
    filters.search = search.value.trim();
    filters.sync = form.querySelector("#sync").value;
    filters.health = form.querySelector("#health").value;
    const shown = query(null);
    shown.delete("limit");
    if (limit !== PAGE_SIZE) shown.set("limit", String(limit));
    history.replaceState(null, "", "/ui/applications" + (String(shown) ? "?" + shown : ""));
    trail = [];
    load(null).catch(errorView);
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); refilter(); });
  form.addEventListener("change", refilter);
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(refilter, 300);
  });
  await load(null);
  openStream("", (type, app) => {
    const row = rows.get(app.metadata.name);
    if (!row) {
      if (type !== "DELETED") notice.textContent = "Applications changed that this page does not show; change a filter or page to see them.";
      return;
    }
    if (type === "DELETED") {
      row.classList.add("muted");
      row.querySelector("[data-field=sync]").replaceChildren("Deleted");
      announce(app.metadata.name + " was deleted");
      return;
    }
    // Only the cells change, so the keyboard focus on the row's link stays where it was.
    const before = row.dataset.state;
    const updated = appRow(app);
    for (const field of ["project", "sync", "health", "revision"]) {
      const selector = `[data-field=${field}]`;
      row.querySelector(selector).replaceChildren(...updated.querySelector(selector).childNodes);
    }
    row.dataset.state = updated.dataset.state;
    if (before !== updated.dataset.state) {
      announce(`${app.metadata.name}: ${syncOf(app)}, ${healthOf(app)}`);
    }
  }, () => load(current).catch(errorView));
}

function appRow(app) {
  const name = app.metadata.name;
  const revision = (app.status && app.status.sync && app.status.sync.revision) || "";
  return h("tr", { dataset: { app: name, state: syncOf(app) + "/" + healthOf(app) } },
    h("th", { scope: "row" }, h("a", { href: "/ui/applications/" + encodeURIComponent(name) }, name)),
    h("td", { dataset: { field: "project" } }, (app.spec && app.spec.project) || "default"),
    h("td", { dataset: { field: "sync" } }, status(syncOf(app), "Sync")),
    h("td", { dataset: { field: "health" } }, status(healthOf(app), "Health")),
    h("td", { dataset: { field: "revision" } }, h("code", { title: revision }, shortRevision(revision))));
}

// ---- One application ----
