// The driftless web UI's shared parts: the API client, element building, the live stream and
// navigation. Plain browser JavaScript modules, no build step, no outside resources. Every view is
// drawn from the JSON API with DOM calls (never from HTML strings, so nothing an Application
// carries can run as markup). The session is the HttpOnly argocd.token cookie; every request
// that changes something sends the x-driftless-csrf header the server demands.

// `route` is set by main.js: navigation draws the view a path names. `audit`: whether the
// signed-in user may read the audit trail (undefined until main.js has asked the API).
export const ui = { user: null, settings: {}, stream: null, audit: undefined, route: () => {} };

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

export async function api(method, path, body) {
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
export function h(tag, attrs, ...children) {
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

export function status(value, what) {
  const text = value || "Unknown";
  return h("span", { class: "status s-" + text, title: what ? what + ": " + text : undefined }, text);
}

export function announce(message) {
  const region = document.getElementById("announcer");
  region.textContent = "";
  // A new node after a tick, so a screen reader reads a repeated message again.
  setTimeout(() => { region.textContent = message; }, 50);
}

export function shortRevision(revision) {
  return revision && /^[0-9a-f]{40}$/.test(revision) ? revision.slice(0, 7) : revision || "";
}

export function closeStream() {
  if (ui.stream) ui.stream.close();
  ui.stream = null;
}

// The live stream of Application changes; `lagged` means some were missed: read again.
export function openStream(query, onApp, onLagged) {
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

export function setMain(title, ...children) {
  const main = document.getElementById("main");
  main.replaceChildren(...children);
  document.title = title + " · driftless";
  main.focus();
}

export function showChrome(loggedIn) {
  document.getElementById("nav").hidden = !loggedIn;
  document.getElementById("who").hidden = !loggedIn;
  document.getElementById("who-name").textContent = loggedIn ? "Signed in as " + ui.user.username : "";
}

export function go(path, replace) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  ui.route();
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
window.addEventListener("popstate", () => ui.route());

export function errorView(error) {
  setMain("Error", h("h1", {}, "Something went wrong"), h("p", { class: "error", role: "alert" }, error.message));
}

export function syncOf(app) {
  return (app.status && app.status.sync && app.status.sync.status) || "Unknown";
}

export function healthOf(app) {
  return (app.status && app.status.health && app.status.health.status) || "Unknown";
}


// The RBAC object of an app: project/name in the control namespace, project/ns/name elsewhere.
export function rbacObject(app) {
  const project = (app.spec && app.spec.project) || "default";
  const ns = app.metadata.namespace;
  const control = ui.settings.controllerNamespace;
  return ns && control && ns !== control ? `${project}/${ns}/${app.metadata.name}` : `${project}/${app.metadata.name}`;
}

export async function allowed(action, app) {
  const object = rbacObject(app).split("/").map(encodeURIComponent).join("/");
  try {
    const answer = await api("GET", `/api/v1/account/can-i/applications/${action}/${object}`);
    return answer.value === "yes";
  } catch (error) {
    if (error.status === 401) throw error;
    return false;
  }
}

export function sourceOf(app) {
  const spec = app.spec || {};
  return spec.source || (spec.sources && spec.sources[0]) || {};
}

