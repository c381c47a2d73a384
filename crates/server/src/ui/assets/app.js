// The driftless web UI: plain browser JavaScript, no build step, no outside resources.
// Every view is drawn from the JSON API with DOM calls (never from HTML strings, so nothing
// an Application carries can run as markup). The session is the HttpOnly argocd.token cookie;
// every request that changes something sends the x-driftless-csrf header the server demands.
"use strict";

const PAGE_SIZE = 20;
const SYNC_STATES = ["Synced", "OutOfSync", "Unknown"];
const HEALTH_STATES = ["Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"];
const TERMINAL = ["Succeeded", "Failed", "Error"];

const ui = { user: null, settings: {}, stream: null };

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-Driftless-CSRF"] = "1";
  const options = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const text = await response.text();
  let data = {};
  try {
    data = text ? JSON.parse(text) : {};
  } catch (_) {
    data = { message: text };
  }
  if (!response.ok) {
    const error = new ApiError(response.status, data.message || data.error || response.statusText);
    if (response.status === 401 && path !== "/api/v1/session") {
      ui.user = null;
      go("/ui/login?next=" + encodeURIComponent(location.pathname + location.search), true);
    }
    throw error;
  }
  return data;
}

// h("tag", {attr: value, onclick: fn}, child, …): an element; strings become text nodes.
function h(tag, attrs, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

function status(value, what) {
  const text = value || "Unknown";
  return h("span", { class: "status s-" + text, title: what ? what + ": " + text : undefined }, text);
}

function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A new node after a tick, so a screen reader reads a repeated message again.
  setTimeout(() => { region.textContent = message; }, 50);
}

function shortRevision(revision) {
  return revision && /^[0-9a-f]{40}$/.test(revision) ? revision.slice(0, 7) : revision || "";
}

function closeStream() {
  if (ui.stream) ui.stream.close();
  ui.stream = null;
}

// The live stream of Application changes; `lagged` means some were missed: read again.
function openStream(query, onApp, onLagged) {
  closeStream();
  const source = new EventSource("/api/v1/stream/applications" + query);
  source.onmessage = (event) => {
    try {
      const result = JSON.parse(event.data).result;
      if (result && result.application) onApp(result.type, result.application);
    } catch (_) { /* a malformed event is skipped */ }
  };
  source.addEventListener("lagged", onLagged);
  // A refused stream (the session ended) is not retried by the browser: ask who we are, which
  // leads to the login form if that is why.
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) api("GET", "/api/v1/session/userinfo").catch(() => {});
  };
  ui.stream = source;
}

function setMain(title, ...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  document.title = title + " · driftless";
  main.focus();
}

function showChrome(loggedIn) {
  document.getElementById("nav").hidden = !loggedIn;
  document.getElementById("who").hidden = !loggedIn;
  document.getElementById("who-name").textContent = loggedIn ? "Signed in as " + ui.user.username : "";
}

function go(path, replace) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

// Links inside the UI change the view without a page load.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[href]");
  if (!link || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith("/ui/")) return;
  event.preventDefault();
  go(url.pathname + url.search);
});
window.addEventListener("popstate", () => route());

async function route() {
  closeStream();
  const path = location.pathname.replace(/\/+$/, "");
  const params = new URLSearchParams(location.search);
  if (path === "/ui/login") return loginView(params.get("next"));
  if (!ui.user) {
    try {
      ui.user = await api("GET", "/api/v1/session/userinfo");
    } catch (error) {
      if (error.status !== 401) return errorView(error);
      return;
    }
  }
  showChrome(true);
  const app = path.match(/^\/ui\/applications\/([^/]+)(\/diff)?$/);
  try {
    if (app && app[2]) return await diffView(decodeURIComponent(app[1]), params);
    if (app) return await appView(decodeURIComponent(app[1]));
    return await listView(params);
  } catch (error) {
    if (error.status !== 401) errorView(error);
  }
}

function errorView(error) {
  setMain("Error", h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
}

// ---- Login ----

function loginView(next) {
  ui.user = null;
  showChrome(false);
  const message = h("p", { class: "error", id: "login-error", role: "alert" });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const target = next && next.startsWith("/ui/") ? next : "/ui/applications";
  const form = h("form", {
    class: "login", "aria-labelledby": "login-title",
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.textContent = "";
      try {
        await api("POST", "/api/v1/session", { username: username.value, password: password.value });
        ui.user = await api("GET", "/api/v1/session/userinfo");
        go(target, true);
      } catch (error) {
        message.textContent = error.message;
        password.value = "";
        password.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h1", { id: "login-title" }, "Log in to driftless"),
  h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
  h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
  message,
  h("div", { class: "actions", id: "login-actions" }, submit));
  setMain("Log in", form);
  username.focus();
  api("GET", "/api/v1/settings").then((settings) => {
    ui.settings = settings;
    const provider = settings.oidcConfig && settings.oidcConfig.name;
    if (provider) {
      const sso = h("a", { class: "button", id: "sso", href: "/auth/login?return_url=" + encodeURIComponent(target) },
        "Log in with " + provider);
      document.getElementById("login-actions").append(sso);
    }
  }).catch(() => { /* no SSO link without settings */ });
}

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/session");
  } catch (_) { /* logged out already */ }
  ui.user = null;
  go("/ui/login", false);
});

// ---- Application list ----

function select(id, label, choices, value) {
  return h("div", {},
    h("label", { for: id }, label),
    h("select", { id, name: id },
      h("option", { value: "" }, "Any"),
      choices.map((c) => h("option", { value: c, selected: c === value }, c))));
}

async function listView(params) {
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

function syncOf(app) {
  return (app.status && app.status.sync && app.status.sync.status) || "Unknown";
}

function healthOf(app) {
  return (app.status && app.status.health && app.status.health.status) || "Unknown";
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

// The RBAC object of an app: project/name in the control namespace, project/ns/name elsewhere.
function rbacObject(app) {
  const project = (app.spec && app.spec.project) || "default";
  const ns = app.metadata.namespace;
  const control = ui.settings.controllerNamespace;
  return ns && control && ns !== control ? `${project}/${ns}/${app.metadata.name}` : `${project}/${app.metadata.name}`;
}

async function allowed(action, app) {
  const object = rbacObject(app).split("/").map(encodeURIComponent).join("/");
  try {
    const answer = await api("GET", `/api/v1/account/can-i/applications/${action}/${object}`);
    return answer.value === "yes";
  } catch (error) {
    if (error.status === 401) throw error;
    return false;
  }
}

function sourceOf(app) {
  const spec = app.spec || {};
  return spec.source || (spec.sources && spec.sources[0]) || {};
}

async function appView(name) {
  if (!ui.settings.controllerNamespace) ui.settings = await api("GET", "/api/v1/settings");
  const path = "/api/v1/applications/" + encodeURIComponent(name);
  let app = await api("GET", path);
  const maySync = await allowed("sync", app);
  const summary = h("dl", { class: "summary", id: "summary" });
  const conditions = h("div", { id: "conditions" });
  const resources = h("tbody", { id: "resources" });
  const operation = h("div", { class: "operation", id: "operation", role: "status", "aria-live": "polite", hidden: true });
  const toolbar = h("div", { class: "toolbar" },
    h("a", { href: "/ui/applications/" + encodeURIComponent(name) + "/diff" }, "Diff against git"));
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

async function diffView(name, params) {
  const wanted = params.get("kind") ? {
    group: params.get("group") || "", kind: params.get("kind"),
    namespace: params.get("namespace") || "", name: params.get("name") || "",
  } : null;
  const title = wanted ? `Diff of ${wanted.kind} ${wanted.name}` : `Diff of ${name}`;
  const back = h("p", {}, h("a", { href: "/ui/applications/" + encodeURIComponent(name) }, "Back to " + name));
  const result = h("div", { id: "diff", "aria-busy": "true" }, h("p", { class: "muted" }, "Comparing with git…"));
  setMain(title, h("h1", {}, title), back,
    h("p", { class: "muted" }, "Live state (−) against the state in git (+). Secret values are masked by the server."),
    result);
  const answer = await api("GET", `/api/v1/applications/${encodeURIComponent(name)}/diff`);
  const items = (answer.items || []).filter((item) => !wanted || (
    (item.group || "") === wanted.group && item.kind === wanted.kind &&
    (item.namespace || "") === wanted.namespace && item.name === wanted.name));
  result.removeAttribute("aria-busy");
  if (!items.length) {
    result.replaceChildren(h("p", {}, wanted ? "This resource is not part of the application's desired state." : "Nothing to compare."));
    return;
  }
  result.replaceChildren(...items.map((item) => h("section", { "aria-label": `${item.kind} ${item.name}` },
    h("h2", {}, `${item.kind} ${item.namespace ? item.namespace + "/" : ""}${item.name} `, status(item.status, "Sync")),
    item.diff ? diffText(item.diff) : h("p", { class: "muted" }, "No difference."))));
}

function diffText(text) {
  return h("pre", { class: "diff", tabindex: "0", "aria-label": "Unified diff" }, text.split("\n").map((line) => {
    const kind = line.startsWith("@@") ? "hunk"
      : line.startsWith("+") && !line.startsWith("+++") ? "add"
        : line.startsWith("-") && !line.startsWith("---") ? "del" : undefined;
    return h("span", { class: kind }, line || " ");
  }));
}

route();
