// The app's conditions, each with what to do about it: the fix the controller's message carries
// (SyncLoop and VolatileField say how to stop the loop; a guard finding what to set, and how
// to waive it), or the known remedy of its type.
import { h } from "./core.js";

const REMEDIES = {
  SyncWindowBlocked: "Wait for the sync window to open, or sync manually if the project's window allows it.",
  DependencyWarning: "Sync the apps named in driftless.dev/depends-on first, or remove the dependency.",
};

// The fix a message carries at its end: a SyncLoop's or VolatileField's, or the guard's last line.
const CARRIED_FIX = /\b((?:To stop the loop,|Fix each finding as it says,).*)$/s;

export function splitFix(condition) {
  const message = condition.message || "";
  const carried = message.match(CARRIED_FIX);
  if (carried) return { problem: message.slice(0, carried.index).trim(), fix: carried[1] };
  return { problem: message, fix: REMEDIES[condition.type] || null };
}

export function drawConditions(target, app) {
  const list = (app.status && app.status.conditions) || [];
  if (!list.length) {
    target.replaceChildren(h("p", { class: "muted" }, "No conditions."));
    return;
  }
  target.replaceChildren(h("ul", { class: "conditions" }, list.map((c) => {
    const { problem, fix } = splitFix(c);
    const warning = /Error$/.test(c.type) ? "bad" : "warn";
    return h("li", { class: "condition " + warning, dataset: { condition: c.type } },
      h("strong", {}, c.type), ": ", problem,
      fix ? h("div", { class: "fix", dataset: { field: "fix" } }, h("strong", {}, "Fix: "), fix) : null);
  })));
}
