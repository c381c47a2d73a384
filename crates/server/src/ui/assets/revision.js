// What another revision would change: the app (and every app it manages, down the App-of-Apps
// tree) rendered at that revision against the live cluster, as the server's tree-diff answers
// it. Nothing is synced. Secret values are masked by the server.
import { api, h, setMain, shortRevision, status } from "./core.js";
import { diffText } from "./diff.js";

// What an object's status means at the other revision.
const CHANGE_OF = { Missing: "added", Extraneous: "removed", OutOfSync: "changed", Synced: "unchanged" };

export async function revisionView(name, params) {
  const revision = params.get("revision") || "";
  const input = h("input", { id: "revision", name: "revision", value: revision, placeholder: "A branch, tag or commit", required: true });
  const form = h("form", { class: "filters", id: "revision-form", "aria-label": "Revision to compare" },
    h("div", {}, h("label", { for: "revision" }, "Revision"), input),
    h("button", { type: "submit", class: "primary" }, "Compare"));
  const result = h("div", { id: "tree-diff", "aria-live": "polite" });
  const title = `Changes at another revision · ${name}`;
  setMain(title,
    h("p", {}, h("a", { href: "/ui/applications/" + encodeURIComponent(name) }, "Back to " + name)),
    h("h1", {}, "Changes at another revision"),
    h("p", { class: "muted" }, `What ${name} and the applications it manages would change if they were synced ` +
      "to the revision: live state (−) against the revision (+). Nothing is synced."),
    form, result);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const wanted = input.value.trim();
    history.replaceState(null, "", location.pathname + "?" + new URLSearchParams({ revision: wanted }));
    compare(name, wanted, result);
  });
  if (revision) await compare(name, revision, result);
  else input.focus();
}

async function compare(name, revision, result) {
  result.setAttribute("aria-busy", "true");
  result.replaceChildren(h("p", { class: "muted" }, `Rendering ${name} at ${revision}…`));
  let answer;
  try {
    answer = await api("GET", `/api/v1/applications/${encodeURIComponent(name)}/tree-diff?` + new URLSearchParams({ revision }));
  } catch (error) {
    result.removeAttribute("aria-busy");
    if (error.status === 401) throw error;
    result.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    return;
  }
  result.removeAttribute("aria-busy");
  const apps = answer.apps || [];
  const childrenOf = new Map();
  for (const app of apps) {
    const parent = app.parent || "";
    if (!childrenOf.has(parent)) childrenOf.set(parent, []);
    childrenOf.get(parent).push(app);
  }
  const findings = answer.findings || [];
  const node = (app, seen) => {
    const children = seen.has(app.name) ? [] : childrenOf.get(app.name) || [];
    const inner = new Set(seen).add(app.name);
    return h("li", { dataset: { app: app.name, change: app.change } },
      appSection(app, findings.filter((f) => f.app === app.name)),
      children.length ? h("ul", { class: "tree-diff" }, children.map((c) => node(c, inner))) : null);
  };
  const roots = apps.filter((a) => !a.parent || !apps.some((b) => b.name === a.parent));
  result.replaceChildren(
    h("p", { id: "tree-diff-summary", role: "status" }, answer.differs
      ? `At ${revision}, something in the tree of ${name} would change.`
      : `At ${revision}, nothing in the tree of ${name} would change.`),
    h("ul", { class: "tree-diff", "aria-label": "Applications at " + revision }, roots.map((r) => node(r, new Set()))));
}

function appSection(app, findings) {
  const changed = (app.diffs || []).filter((d) => d.status !== "Synced");
  const same = (app.diffs || []).length - changed.length;
  const heading = h("h2", {}, app.name, " ", h("span", { class: "change c-" + app.change }, appChange(app.change)));
  if (app.hidden) {
    return h("section", { "aria-label": app.name }, heading, h("p", { class: "muted" }, "You may not read this application."));
  }
  return h("section", { "aria-label": app.name },
    heading,
    app.revisions && app.revisions.length
      ? h("p", { class: "muted" }, "Rendered at ", app.revisions.map((r) => h("code", { title: r }, shortRevision(r))))
      : null,
    app.error ? h("p", { class: "error" }, app.error) : null,
    findings.length ? h("ul", { class: "findings", "aria-label": "Guard findings" }, findings.map((f) =>
      h("li", {}, h("strong", {}, f.severity + " " + f.rule), ` ${f.object}: ${f.message}`))) : null,
    (app.pruned || []).length ? h("p", {}, "Deleted with it: ", app.pruned.join(", ")) : null,
    changed.length
      ? h("ul", { class: "objects" }, changed.map((d) => h("li", { dataset: { resource: `${d.kind}/${d.name}`, change: CHANGE_OF[d.status] || d.status } },
        h("details", {},
          h("summary", {}, `${d.kind} ${d.namespace ? d.namespace + "/" : ""}${d.name} `,
            h("span", { class: "change c-" + d.status }, CHANGE_OF[d.status] || d.status), " ", status(d.status, "Sync")),
          d.diff ? diffText(d.diff) : h("p", { class: "muted" }, "No text difference.")))))
      : h("p", { class: "muted" }, "No resource changes."),
    same ? h("p", { class: "muted" }, `${same} resource${same === 1 ? "" : "s"} unchanged.`) : null);
}

function appChange(change) {
  return { Added: "would be added", Removed: "would be removed", Changed: "Application changed", Unchanged: "Application unchanged" }[change] || change;
}
