// The diff of an application (or of one resource) against git, as the server computes it.
import { api, h, setMain, status } from "./core.js";

export async function diffView(name, params) {
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

export function diffText(text) {
  return h("pre", { class: "diff", tabindex: "0", "aria-label": "Unified diff" }, text.split("\n").map((line) => {
    const kind = line.startsWith("@@") ? "hunk"
      : line.startsWith("+") && !line.startsWith("+++") ? "add"
        : line.startsWith("-") && !line.startsWith("---") ? "del" : undefined;
    return h("span", { class: kind }, line || " ");
  }));
}

