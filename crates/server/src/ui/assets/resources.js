// The app's resources as a tree: grouped by kind or by sync wave (a radio choice), each with
// its sync and health, and a panel of one resource's live manifest, desired manifest and diff
// (Secret values come masked from the server and are shown as they come).
import { api, h, status } from "./core.js";
import { diffText } from "./diff.js";
import { toYaml } from "./yaml.js";

export function resourceKey(r) {
  return [r.group || "", r.kind, r.namespace || "", r.name].join("/");
}

export function groupOf(apiVersion) {
  return apiVersion && apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
}

const GROUPINGS = { kind: "Kind", wave: "Sync wave" };

export function resourceTree(appName) {
  let grouping = "kind";
  let nodes = [];
  // The live objects below the app's own, by the key of their owner (GET …/resource-tree).
  let below = new Map();
  let belowNote = null;
  const body = h("tbody", { id: "resources" });
  const panel = h("section", { id: "resource-panel", class: "panel", "aria-labelledby": "resource-panel-title", hidden: true });
  const choice = h("fieldset", { class: "grouping" }, h("legend", {}, "Group by"),
    Object.entries(GROUPINGS).map(([value, label]) => h("label", { class: "inline" },
      h("input", {
        type: "radio", name: "grouping", value, id: "group-" + value, checked: value === grouping,
        onchange: () => { grouping = value; draw(); },
      }), " ", label)));
  const table = h("table", { "aria-describedby": "resources-title" },
    h("thead", {}, h("tr", {}, ["Kind", "Name", "Namespace", "Wave", "Sync", "Health", ""].map((c) =>
      h("th", { scope: "col" }, c || h("span", { class: "visually-hidden" }, "Actions"))))),
    body);

  const draw = () => {
    // Redrawn on every change: a focused control is focused again in its new row.
    const active = document.activeElement;
    const row = body.contains(active) && active.closest("tr");
    const refocus = row ? [row.dataset.resource, active.tagName] : null;
    drawRows();
    if (refocus) {
      const again = [...body.rows].find((r) => r.dataset.resource === refocus[0]);
      const control = again && again.querySelector(refocus[1] === "A" ? "a" : "button");
      if (control) control.focus();
    }
  };

  const drawRows = () => {
    if (!nodes.length) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: 7, class: "muted" }, "No resources recorded yet.")));
      return;
    }
    const groups = new Map();
    const label = (r) => grouping === "wave" ? "Wave " + (r.syncWave || 0) : r.kind;
    const sorted = nodes.slice().sort((a, b) => grouping === "wave"
      ? (a.syncWave || 0) - (b.syncWave || 0) || resourceKey(a).localeCompare(resourceKey(b))
      : resourceKey(a).localeCompare(resourceKey(b)) || 0);
    for (const r of sorted) {
      if (!groups.has(label(r))) groups.set(label(r), []);
      groups.get(label(r)).push(r);
    }
    const order = [...groups.keys()];
    if (grouping === "kind") order.sort();
    body.replaceChildren(...order.flatMap((name) => [
      h("tr", { class: "group", dataset: { group: name } },
        h("th", { colspan: 7, scope: "rowgroup" }, name, " ", h("span", { class: "muted" }, `(${groups.get(name).length})`))),
      ...groups.get(name).flatMap((r) => [row(r), ...childRows(r, 1)]),
    ]));
    if (belowNote) body.append(h("tr", {}, h("td", { colspan: 7, class: "muted" }, belowNote)));
  };

  const childRows = (parent, depth) => (below.get(resourceKey(parent)) || []).flatMap((c) => {
    const health = c.health && c.health.status;
    return [h("tr", { class: "child", dataset: { child: `${c.kind}/${c.name}` } },
      h("td", { class: "depth-" + Math.min(depth, 3) }, c.kind),
      h("td", { class: "depth-" + Math.min(depth, 3) }, h("span", { "aria-hidden": "true" }, "↳ "), c.name,
        h("span", { class: "visually-hidden" }, `, owned by ${parent.kind} ${parent.name}`)),
      h("td", {}, c.namespace || ""),
      h("td", {}, ""),
      h("td", {}, h("span", { class: "muted" }, "—")),
      h("td", { dataset: { field: "health" } }, health ? status(health, "Health") : h("span", { class: "muted" }, "—"),
        c.health && c.health.message ? h("div", { class: "muted" }, c.health.message) : null),
      h("td", {}, "")),
    ...(depth < 4 ? childRows(c, depth + 1) : [])];
  });

  // Read again when the app's objects or their health change, or an operation ends.
  let readFor = null;
  const readBelow = (app) => {
    const state = app.status && app.status.operationState;
    const key = JSON.stringify([nodes.map((n) => [resourceKey(n), n.status, n.health && n.health.status]), state && state.finishedAt]);
    if (key === readFor) return;
    readFor = key;
    api("GET", `/api/v1/applications/${encodeURIComponent(appName)}/resource-tree`).then((tree) => {
      below = new Map();
      for (const c of tree.children || []) {
        for (const parent of c.parentRefs || []) {
          const owner = resourceKey(parent);
          if (!below.has(owner)) below.set(owner, []);
          below.get(owner).push(c);
        }
      }
      belowNote = tree.childrenError ? "Objects below these are not shown: " + tree.childrenError : null;
      draw();
    }).catch(() => { readFor = null; });
  };

  const row = (r) => {
    const health = r.health && r.health.status;
    const diff = new URLSearchParams({ group: r.group || "", kind: r.kind, namespace: r.namespace || "", name: r.name });
    return h("tr", { dataset: { resource: `${r.kind}/${r.name}` } },
      h("td", {}, r.kind),
      h("th", { scope: "row" }, r.name),
      h("td", {}, r.namespace || ""),
      h("td", { dataset: { field: "wave" } }, String(r.syncWave || 0)),
      h("td", { dataset: { field: "sync" } }, status(r.status, "Sync"),
        r.requiresPruning ? h("div", { class: "muted" }, "to be pruned") : null),
      h("td", { dataset: { field: "health" } }, health ? status(health, "Health") : h("span", { class: "muted" }, "—"),
        r.health && r.health.message ? h("div", { class: "muted" }, r.health.message) : null),
      h("td", { class: "actions" },
        h("button", {
          type: "button", class: "link", "aria-label": `Details of ${r.kind} ${r.name}`,
          "aria-controls": "resource-panel", onclick: () => openPanel(r),
        }, "Details"),
        " ",
        h("a", {
          href: `/ui/applications/${encodeURIComponent(appName)}/diff?${diff}`,
          "aria-label": `Diff of ${r.kind} ${r.name}`,
        }, "Diff")));
  };

  // The open panel is read again when its resource or the compared revision changes.
  let open = null;
  const signature = (app, r) => {
    const now = nodes.find((n) => resourceKey(n) === resourceKey(r));
    return JSON.stringify([now && now.status, now && now.health, app.status && app.status.sync && app.status.sync.revision]);
  };
  let current = null;
  const openPanel = (r) => {
    open = { resource: r, seen: current ? signature(current, r) : "", tab: 2 };
    showPanel(panel, appName, open, true, () => { open = null; });
  };

  return {
    element: h("div", {}, choice, table, panel),
    update(app) {
      current = app;
      nodes = (app.status && app.status.resources) || [];
      draw();
      readBelow(app);
      if (open && !panel.hidden && signature(app, open.resource) !== open.seen) {
        open.seen = signature(app, open.resource);
        showPanel(panel, appName, open, false, () => { open = null; });
      }
    },
  };
}

const TABS = [["live", "Live manifest"], ["desired", "Desired manifest"], ["diff", "Diff"]];

// Draws the panel of `open.resource` on the tab `open.tab`; `focus`: move focus to it (on
// opening, not on a redraw).
function showPanel(panel, appName, open, focus, onClose) {
  const r = open.resource;
  const title = h("h3", { id: "resource-panel-title", tabindex: "-1" }, `${r.kind} ${r.namespace ? r.namespace + "/" : ""}${r.name}`);
  const close = h("button", { type: "button", class: "link", id: "resource-panel-close" }, "Close");
  const tabs = TABS.map(([id, label], i) => h("button", {
    type: "button", role: "tab", id: "tab-" + id, "aria-controls": "resource-" + id,
    "aria-selected": i === open.tab ? "true" : "false", tabindex: i === open.tab ? "0" : "-1",
  }, label));
  const views = TABS.map(([id], i) => h("div", {
    role: "tabpanel", id: "resource-" + id, "aria-labelledby": "tab-" + id, hidden: i !== open.tab, "aria-busy": "true",
  }, h("p", { class: "muted" }, "Reading…")));
  const select = (i, focus) => {
    open.tab = i;
    tabs.forEach((tab, j) => {
      tab.setAttribute("aria-selected", i === j ? "true" : "false");
      tab.tabIndex = i === j ? 0 : -1;
      views[j].hidden = i !== j;
    });
    if (focus) tabs[i].focus();
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => select(i, false));
    // Arrow keys move between the tabs, as in any tab list.
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) {
        event.preventDefault();
        select((i + step + tabs.length) % tabs.length, true);
      }
    });
  });
  if (focus) open.opener = document.activeElement;
  close.addEventListener("click", () => {
    panel.hidden = true;
    onClose();
    // The row was redrawn since: focus its Details button again.
    const row = [...document.querySelectorAll("#resources tr")].find((tr) => tr.dataset.resource === `${r.kind}/${r.name}`);
    const again = (open.opener && open.opener.isConnected && open.opener) || (row && row.querySelector("button"));
    if (again) again.focus();
  });
  // A redraw keeps the focus where it was (a tab, Close).
  const focused = !focus && panel.contains(document.activeElement) ? document.activeElement.id : null;
  panel.replaceChildren(h("div", { class: "panel-head" }, title, close),
    h("div", { role: "tablist", "aria-label": "Manifests" }, tabs), ...views);
  panel.hidden = false;
  if (focus) title.focus();
  else if (focused && document.getElementById(focused)) document.getElementById(focused).focus();

  const name = encodeURIComponent(appName);
  const same = (o) => (o.group || "") === (r.group || "") && o.kind === r.kind && o.name === r.name &&
    (!o.namespace || !r.namespace || o.namespace === r.namespace);
  const [live, desired, diff] = views;
  const done = (view, ...content) => {
    view.removeAttribute("aria-busy");
    view.replaceChildren(...content);
  };
  const manifest = (object) => h("pre", { class: "manifest", tabindex: "0" }, toYaml(object));
  api("GET", `/api/v1/applications/${name}/diff`).then((answer) => {
    const item = (answer.items || []).find(same);
    done(live, item && item.live ? manifest(item.live) : h("p", { class: "muted" }, "Not in the cluster."));
    done(diff, !item ? h("p", {}, "This resource is not part of the application's desired state.")
      : item.diff ? h("div", {}, h("p", { class: "muted" }, "Live (−) against git (+); ", status(item.status, "Sync")), diffText(item.diff))
        : h("p", {}, "No difference: ", status(item.status, "Sync")));
  }).catch((error) => {
    done(live, h("p", { class: "error" }, error.message));
    done(diff, h("p", { class: "error" }, error.message));
  });
  api("GET", `/api/v1/applications/${name}/manifests`).then((answer) => {
    const object = (answer.manifests || []).find((o) => same({
      group: groupOf(o.apiVersion), kind: o.kind, name: o.metadata && o.metadata.name,
      namespace: o.metadata && o.metadata.namespace,
    }));
    done(desired, object ? manifest(object) : h("p", { class: "muted" }, "Not in git (the sync would prune it if asked)."));
  }).catch((error) => done(desired, h("p", { class: "error" }, error.message)));
}
