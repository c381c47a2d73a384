// The sync dialog: prune, dry run and which resources, then the sync's progress wave by wave
// from the live stream (status.operationState.syncResult.resources).
import { announce, api, h, status } from "./core.js";
import { modal } from "./dialog.js";
import { resourceKey } from "./resources.js";

const TERMINAL = ["Succeeded", "Failed", "Error"];
const PHASES = ["PreSync", "Sync", "PostSync", "SyncFail"];
const DONE = ["Synced", "Pruned", "PruneSkipped"];

// What tells one operation's state from the one before (times are to the second only).
export function operationKey(app) {
  const state = app.status && app.status.operationState;
  return state ? JSON.stringify([state.startedAt, state.finishedAt, state.phase, state.operation]) : null;
}

// The request body apps::sync takes; no resources field means all of them.
export function syncRequest({ prune, dryRun, chosen, all }) {
  const body = { prune, dryRun };
  if (chosen.length < all.length) {
    body.resources = chosen.map((r) => ({ group: r.group || "", kind: r.kind, name: r.name, namespace: r.namespace || "" }));
  }
  return body;
}

// The waves of an operation: its results and the resources it is still to reach, grouped by
// phase and wave in the order they run, each with its state. The controller's saved state
// (driftlessSyncState) says which waves are done and which one runs; without it the results do.
export function waves(app, chosenKeys) {
  const state = (app.status && app.status.operationState) || {};
  const results = (state.syncResult && state.syncResult.resources) || [];
  const saved = state.driftlessSyncState || {};
  const groups = new Map();
  const group = (phase, wave) => {
    const key = phase + " " + wave;
    if (!groups.has(key)) groups.set(key, { phase, wave, items: [] });
    return groups.get(key);
  };
  const seen = new Set();
  for (const r of results) {
    seen.add(resourceKey(r));
    group(r.syncPhase || "Sync", r.syncWave || 0).items.push({ ...r, reached: true });
  }
  for (const r of (app.status && app.status.resources) || []) {
    if (r.hook || seen.has(resourceKey(r)) || (chosenKeys && !chosenKeys.has(resourceKey(r)))) continue;
    group("Sync", r.syncWave || 0).items.push({ ...r, reached: false });
  }
  const completed = new Set((saved.completed || []).map((w) => w.phase + " " + w.wave));
  const current = saved.current && saved.current.wave ? saved.current.wave.phase + " " + saved.current.wave.wave : null;
  return [...groups.entries()]
    .sort(([, a], [, b]) => PHASES.indexOf(a.phase) - PHASES.indexOf(b.phase) || a.wave - b.wave)
    .map(([key, g]) => ({ ...g, state: waveState(g.items, state.phase, completed.has(key), key === current && saved.current.stage) }));
}

function waveState(items, phase, completed, stage) {
  const reached = items.filter((r) => r.reached);
  if (reached.some((r) => r.status === "SyncFailed" || r.hookPhase === "Failed" || r.hookPhase === "Error")) return "Failed";
  if (completed || phase === "Succeeded") return "Synced";
  if (stage) return stage === "Wait" ? "Waiting" : "Running";
  if (TERMINAL.includes(phase)) return "NotRun";
  const settled = reached.every((r) => DONE.includes(r.status) && (!r.hookPhase || r.hookPhase === "Succeeded"));
  if (reached.length && reached.length === items.length && settled) return "Synced";
  return reached.length ? "Running" : "Pending";
}

export function syncDialog(name, path, getApp, onStarted) {
  const app = getApp();
  const all = ((app.status && app.status.resources) || []).filter((r) => !r.hook)
    .slice().sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
  const prune = h("input", { type: "checkbox", id: "sync-prune" });
  const dryRun = h("input", { type: "checkbox", id: "sync-dry-run" });
  const boxes = all.map((r) => h("input", {
    type: "checkbox", checked: true, dataset: { key: resourceKey(r) }, id: "sync-resource-" + resourceKey(r).replace(/[^A-Za-z0-9_-]/g, "_"),
  }));
  const every = h("input", { type: "checkbox", id: "sync-all", checked: true });
  every.addEventListener("change", () => boxes.forEach((b) => { b.checked = every.checked; }));
  boxes.forEach((b) => b.addEventListener("change", () => {
    every.checked = boxes.every((x) => x.checked);
    every.indeterminate = !every.checked && boxes.some((x) => x.checked);
  }));
  const start = h("button", { type: "button", class: "primary", id: "sync-start" }, "Sync");
  const cancel = h("button", { type: "button", id: "sync-close" }, "Cancel");
  const error = h("p", { class: "error", role: "alert", id: "sync-error", hidden: true });
  // Only the operation's line is read out as it changes; the waves below are redrawn silently.
  const phaseLine = h("p", { id: "sync-phase", role: "status", "aria-live": "polite" });
  const waveList = h("ol", { class: "waves", "aria-label": "Waves" });
  const progress = h("div", { id: "sync-progress", class: "progress", hidden: true }, phaseLine, waveList);
  const options = h("div", { class: "sync-options" },
    h("fieldset", {}, h("legend", {}, "Options"),
      h("label", { class: "inline", for: "sync-prune" }, prune, " Prune (delete objects no longer in git)"),
      h("label", { class: "inline", for: "sync-dry-run" }, dryRun, " Dry run (change nothing)")),
    h("fieldset", { class: "sync-resources" }, h("legend", {}, "Resources"),
      h("label", { class: "inline", for: "sync-all" }, every, " All"),
      all.map((r, i) => h("label", { class: "inline", for: boxes[i].id }, boxes[i], ` ${r.kind} ${r.namespace ? r.namespace + "/" : ""}${r.name} `,
        status(r.status, "Sync")))));
  const box = modal("sync-dialog", "Sync " + name, options, error, progress, h("div", { class: "actions" }, start, cancel));
  let chosenKeys = null;
  let previous = null;
  let watching = false;
  let told = false;

  start.addEventListener("click", async () => {
    const chosen = all.filter((_, i) => boxes[i].checked);
    if (!chosen.length) {
      error.hidden = false;
      error.textContent = "Choose at least one resource.";
      return;
    }
    error.hidden = true;
    start.disabled = true;
    previous = operationKey(getApp());
    chosenKeys = new Set(chosen.map(resourceKey));
    try {
      const started = await api("POST", path + "/sync", syncRequest({ prune: prune.checked, dryRun: dryRun.checked, chosen, all }));
      options.hidden = true;
      start.hidden = true;
      cancel.textContent = "Close";
      watching = true;
      progress.hidden = false;
      phaseLine.replaceChildren(status("Requested", "Operation"), " Waiting for the controller to start the sync…");
      onStarted(started);
    } catch (e) {
      start.disabled = false;
      error.hidden = false;
      error.textContent = "The sync was not started: " + e.message;
    }
  });
  cancel.addEventListener("click", () => box.close());
  box.open(prune);

  return {
    // Called with every new state of the app: draws the waves of this dialog's sync.
    update(latest) {
      if (!watching || !box.element.isConnected) return;
      const state = latest.status && latest.status.operationState;
      if (!state || operationKey(latest) === previous) return;
      drawWaves(phaseLine, waveList, state, waves(latest, chosenKeys));
      if (TERMINAL.includes(state.phase) && !told) {
        told = true;
        announce(`Sync of ${name}: ${state.phase}`);
      }
    },
  };
}

function drawWaves(phaseLine, waveList, state, list) {
  const line = [h("strong", {}, "Operation: "), status(state.phase, "Operation"), " " + (state.message || "")];
  // Rewritten only when it changes, so a screen reader hears each new phase once.
  if (phaseLine.textContent !== line.map((n) => n.textContent || n).join("")) phaseLine.replaceChildren(...line);
  waveList.replaceChildren(...list.map((w) => h("li", { class: "wave", dataset: { wave: `${w.phase} ${w.wave}`, state: w.state } },
    h("div", { class: "wave-head" }, h("strong", {}, `${w.phase === "Sync" ? "" : w.phase + " · "}Wave ${w.wave}`), " ",
      h("span", { dataset: { field: "state" } }, status(w.state, `Wave ${w.wave}`))),
    h("ul", {}, w.items.map((r) => h("li", { dataset: { resource: `${r.kind}/${r.name}` } },
      `${r.kind} ${r.name} `,
      r.reached ? status(r.hookPhase || r.status, "Result") : h("span", { class: "muted" }, "waiting"),
      r.message ? h("span", { class: "muted" }, " " + r.message) : null))))));
}
