// A modal dialog (the browser's <dialog>: focus stays inside, Escape closes it). Focus moves to
// the first control on opening and back to the control that opened it on closing.
import { h } from "./core.js";

export function modal(id, title, ...content) {
  const heading = h("h2", { id: id + "-title" }, title);
  const dialog = h("dialog", { id, class: "modal", "aria-labelledby": id + "-title" }, heading, ...content);
  let opener = null;
  dialog.addEventListener("close", () => {
    if (opener && opener.isConnected) opener.focus();
    dialog.remove();
  });
  return {
    element: dialog,
    heading,
    open(first) {
      opener = document.activeElement;
      document.body.append(dialog);
      dialog.showModal();
      if (first) first.focus();
    },
    close() {
      if (dialog.open) dialog.close();
    },
  };
}

// Asks before something is done: resolves true on Confirm, false on Cancel or Escape.
export function confirmStep(id, title, text, confirmLabel) {
  return new Promise((resolve) => {
    let answer = false;
    const yes = h("button", { type: "button", class: "primary", id: id + "-confirm" }, confirmLabel);
    const no = h("button", { type: "button", id: id + "-cancel" }, "Cancel");
    const box = modal(id, title, h("p", {}, text), h("div", { class: "actions" }, yes, no));
    yes.addEventListener("click", () => { answer = true; box.close(); });
    no.addEventListener("click", () => box.close());
    box.element.addEventListener("close", () => resolve(answer));
    box.open(no);
  });
}
