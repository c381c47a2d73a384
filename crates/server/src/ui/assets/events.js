// The Kubernetes Events about the app, newest first; read again after each operation ends.
import { api, h } from "./core.js";

export function eventList(path) {
  const body = h("tbody", { id: "events" });
  const refresh = h("button", { type: "button", id: "events-refresh" }, "Refresh events");
  let lastEnd = undefined;

  const read = async () => {
    refresh.disabled = true;
    try {
      const answer = await api("GET", path + "/events");
      const items = (answer.items || []).slice().reverse();
      body.replaceChildren(...(items.length ? items.map((e) => h("tr", { dataset: { reason: e.reason || "" } },
        h("td", {}, when(e)),
        h("td", { class: e.type === "Warning" ? "status s-Degraded" : "" }, e.type || ""),
        h("td", {}, e.reason || ""),
        h("td", {}, e.message || ""),
        h("td", {}, e.count ? String(e.count) : "1")))
        : [h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No events."))]));
    } catch (error) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: 5, class: "error" }, error.message)));
    } finally {
      refresh.disabled = false;
    }
  };
  refresh.addEventListener("click", read);

  return {
    element: h("div", {}, h("div", { class: "toolbar" }, refresh),
      h("table", {},
        h("thead", {}, h("tr", {}, ["Last seen", "Type", "Reason", "Message", "Count"].map((c) => h("th", { scope: "col" }, c)))),
        body)),
    update(app) {
      const state = app.status && app.status.operationState;
      const end = (state && state.finishedAt) || null;
      if (end !== lastEnd) {
        lastEnd = end;
        read();
      }
    },
  };
}

function when(event) {
  const time = event.lastTimestamp || event.eventTime || (event.metadata && event.metadata.creationTimestamp);
  return time ? new Date(time).toLocaleString() : "";
}
