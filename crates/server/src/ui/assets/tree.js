// The App-of-Apps tree: root apps (managed by no other app) → the child Applications they
// manage (their status.resources of kind Application) → each app's resources. Every app the
// caller may see is read once, a page at a time; only expanded subtrees are drawn, so the page
// stays light with thousands of apps. A WAI-ARIA tree: arrows move and expand, Enter opens.
import { announce, api, h, healthOf, openStream, setMain, status, syncOf } from "./core.js";

const PAGE = 500;
// Roots drawn at first, and added per "Show more".
const ROOTS_SHOWN = 200;

const isApplication = (r) => r.kind === "Application" && (r.group || "") === "argoproj.io";

export async function treeView() {
  const notice = h("p", { class: "muted", id: "tree-notice", role: "status" }, "Reading applications…");
  const tree = h("ul", { role: "tree", id: "tree", class: "tree", "aria-label": "Applications and what they manage" });
  const more = h("button", { type: "button", id: "tree-more", hidden: true }, "Show more");
  setMain("Application tree", h("h1", {}, "Application tree"),
    h("p", { class: "muted" }, "Each root application, the applications it manages, and their resources. " +
      "Arrow keys move through the tree; Right and Left expand and collapse; Enter opens an application."),
    notice, tree, more);

  const apps = new Map();
  await readAll(apps);

  // What is expanded, by path of names from a root ("root/child"), kept across redraws.
  const expanded = new Set();
  let shownRoots = ROOTS_SHOWN;

  const childrenOf = (app) => ((app.status && app.status.resources) || [])
    .filter((r) => isApplication(r) && apps.has(r.name)).map((r) => r.name).sort();
  const resourcesOf = (app) => ((app.status && app.status.resources) || [])
    // A child Application the caller may not read stays a plain resource.
    .filter((r) => !isApplication(r) || !apps.has(r.name))
    .sort((a, b) => `${a.kind}/${a.name}`.localeCompare(`${b.kind}/${b.name}`));
  const roots = () => {
    const managed = new Set();
    for (const app of apps.values()) for (const child of childrenOf(app)) managed.add(child);
    const found = [...apps.keys()].filter((n) => !managed.has(n)).sort();
    // Apps that only manage each other (a cycle) have no root: show them as roots anyway.
    const reached = new Set();
    const walk = (name) => {
      if (reached.has(name)) return;
      reached.add(name);
      childrenOf(apps.get(name)).forEach(walk);
    };
    found.forEach(walk);
    return found.concat([...apps.keys()].filter((n) => !reached.has(n)).sort());
  };

  const appNode = (name, path, level) => {
    const app = apps.get(name);
    const children = childrenOf(app);
    const resources = resourcesOf(app);
    const open = expanded.has(path);
    const hasChildren = children.length + resources.length > 0;
    const item = h("li", {
      role: "treeitem", tabindex: "-1", "aria-level": String(level),
      "aria-expanded": hasChildren ? String(open) : undefined,
      dataset: { path, app: name },
    });
    const label = h("span", { class: "tree-row" },
      h("span", { class: "tree-toggle", "aria-hidden": "true" }, hasChildren ? (open ? "▾" : "▸") : "·"),
      h("a", { href: "/ui/applications/" + encodeURIComponent(name), tabindex: "-1" }, name),
      h("span", { dataset: { field: "sync" } }, status(syncOf(app), "Sync")),
      h("span", { dataset: { field: "health" } }, status(healthOf(app), "Health")),
      children.length ? h("span", { class: "muted" }, `${children.length} app${children.length === 1 ? "" : "s"}`) : null);
    item.append(label);
    if (open && hasChildren) {
      const group = h("ul", { role: "group" });
      for (const child of children) {
        // A cycle stops where it would repeat an app of its own path.
        if (path.split("/").includes(child)) continue;
        group.append(appNode(child, path + "/" + child, level + 1));
      }
      for (const r of resources) group.append(resourceNode(r, level + 1));
      item.append(group);
    }
    return item;
  };

  const resourceNode = (r, level) => {
    const health = r.health && r.health.status;
    return h("li", { role: "treeitem", tabindex: "-1", "aria-level": String(level), dataset: { resource: `${r.kind}/${r.name}` } },
      h("span", { class: "tree-row" },
        h("span", { class: "tree-toggle", "aria-hidden": "true" }, "·"),
        h("span", {}, h("span", { class: "muted" }, r.kind + " "), r.namespace ? r.namespace + "/" : "", r.name),
        h("span", { dataset: { field: "sync" } }, status(r.status, "Sync")),
        health ? h("span", { dataset: { field: "health" } }, status(health, "Health")) : null));
  };

  const draw = () => {
    const focusedPath = document.activeElement && tree.contains(document.activeElement)
      ? pathOf(document.activeElement) : null;
    const all = roots();
    tree.replaceChildren(...all.slice(0, shownRoots).map((name) => appNode(name, name, 1)));
    more.hidden = all.length <= shownRoots;
    notice.textContent = all.length
      ? `${apps.size} applications, ${all.length} at the root` + (all.length > shownRoots ? `; the first ${shownRoots} shown` : "")
      : "No applications.";
    const again = focusedPath && [...tree.querySelectorAll("[role=treeitem]")].find((i) => pathOf(i) === focusedPath);
    const first = again || tree.querySelector("[role=treeitem]");
    if (first) first.tabIndex = 0;
    if (again) again.focus();
  };

  more.addEventListener("click", () => {
    shownRoots += ROOTS_SHOWN;
    draw();
  });
  tree.addEventListener("keydown", (event) => onKey(event, tree, expanded, draw));
  tree.addEventListener("click", (event) => {
    const item = event.target.closest("[role=treeitem]");
    if (!item) return;
    moveFocus(tree, item);
    if (!event.target.closest("a") && item.hasAttribute("aria-expanded")) toggle(item, expanded, draw);
  });
  draw();

  // Live: a change of status updates that app's rows in place; a change of who manages whom
  // (or an app added or deleted) redraws the tree, expanded parts kept.
  let pending = null;
  openStream("", (type, app) => {
    const name = app.metadata.name;
    const old = apps.get(name);
    const before = old ? childrenOf(old).join(",") : null;
    if (type === "DELETED") apps.delete(name);
    else apps.set(name, app);
    if (pending) return;
    // Only an app added or deleted, or one managing other apps than before, reshapes the tree.
    if (!old || type === "DELETED" || childrenOf(app).join(",") !== before) {
      pending = setTimeout(() => { pending = null; draw(); }, 200);
      return;
    }
    for (const item of tree.querySelectorAll(`li[data-app="${CSS.escape(name)}"]`)) {
      const shown = item.querySelector("[data-field=sync]").textContent + "/" + item.querySelector("[data-field=health]").textContent;
      const fresh = appNode(name, pathOf(item), Number(item.getAttribute("aria-level")));
      fresh.tabIndex = item.tabIndex;
      const hadFocus = item === document.activeElement;
      item.replaceWith(fresh);
      if (hadFocus) fresh.focus();
      if (shown !== syncOf(app) + "/" + healthOf(app)) announce(`${name}: ${syncOf(app)}, ${healthOf(app)}`);
    }
  }, async () => {
    // Events were missed: read every app again.
    apps.clear();
    await readAll(apps);
    draw();
  });
}

// Every app the caller may see, a page at a time (the list API's limit and continue).
async function readAll(apps) {
  let after = null;
  do {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (after) q.set("continue", after);
    const page = await api("GET", "/api/v1/applications?" + q);
    for (const app of page.items) apps.set(app.metadata.name, app);
    after = page.metadata && page.metadata.continue;
  } while (after);
}

function pathOf(item) {
  return item.dataset.path || (item.parentElement.closest("[role=treeitem]").dataset.path + "#" + item.dataset.resource);
}

function visibleItems(tree) {
  // Collapsed subtrees are not drawn, so every item in the DOM is visible.
  return [...tree.querySelectorAll("[role=treeitem]")];
}

function moveFocus(tree, item) {
  for (const other of tree.querySelectorAll("[role=treeitem][tabindex='0']")) other.tabIndex = -1;
  item.tabIndex = 0;
  item.focus();
}

function toggle(item, expanded, draw) {
  const path = item.dataset.path;
  if (expanded.has(path)) expanded.delete(path);
  else expanded.add(path);
  item.focus();
  draw();
}

function onKey(event, tree, expanded, draw) {
  const item = event.target.closest("[role=treeitem]");
  if (!item) return;
  const items = visibleItems(tree);
  const at = items.indexOf(item);
  const open = item.getAttribute("aria-expanded");
  const parent = item.parentElement.closest("[role=treeitem]");
  let handled = true;
  switch (event.key) {
    case "ArrowDown": if (items[at + 1]) moveFocus(tree, items[at + 1]); break;
    case "ArrowUp": if (at > 0) moveFocus(tree, items[at - 1]); break;
    case "Home": moveFocus(tree, items[0]); break;
    case "End": moveFocus(tree, items[items.length - 1]); break;
    case "ArrowRight":
      if (open === "false") toggle(item, expanded, draw);
      else if (open === "true" && items[at + 1]) moveFocus(tree, items[at + 1]);
      break;
    case "ArrowLeft":
      if (open === "true") toggle(item, expanded, draw);
      else if (parent) moveFocus(tree, parent);
      break;
    case "Enter": {
      const link = item.querySelector(":scope > .tree-row a");
      if (link) link.click();
      else if (open !== null) toggle(item, expanded, draw);
      break;
    }
    default: handled = false;
  }
  if (handled) event.preventDefault();
}
