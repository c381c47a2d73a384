// The app's conditions, each with what to do about it: the fix the controller's message carries
// (VolatileField says which ignoreDifferences entry stops it; a guard finding what to set, and
// how to waive it), or the known remedy of its type.
import { h } from "./core.js";

const REMEDIES = {
  SyncLoop: "Stop the other field manager named above from writing these fields, or add the paths to the " +
    "Application's spec.ignoreDifferences. A new revision or a manual sync takes the object back into automated sync.",
  SyncWindowBlocked: "Wait for the sync window to open, or sync manually if the project's window allows it.",
  DependencyWarning: "Sync the apps named in driftless.dev/depends-on first, or remove the dependency.",
};

// The fix a message carries at its end: a VolatileField's, or the guard's last line.
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
