// The login form (password, and the SSO link when an OIDC provider is configured) and log out.
import { api, go, h, setMain, showChrome, ui } from "./core.js";

export function loginView(next) {
  ui.user = null;
  showChrome(false);
  const message = h("p", { class: "error", id: "login-error", role: "alert" });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button", { type: "submit", class: "primary" }, "Log in");
  const target = next && next.startsWith("/ui/") ? next : "/ui/applications";
  const form = h("form", {
    class: "login", "aria-labelledby": "login-title",
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      message.textContent = "";
      try {
        await api("POST", "/api/v1/session", { username: username.value, password: password.value });
        ui.user = await api("GET", "/api/v1/session/userinfo");
        go(target, true);
      } catch (error) {
        message.textContent = error.message;
        password.value = "";
        password.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
  h("h1", { id: "login-title" }, "Log in to driftless"),
  h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
  h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
  message,
  h("div", { class: "actions", id: "login-actions" }, submit));
  setMain("Log in", form);
  username.focus();
  api("GET", "/api/v1/settings").then((settings) => {
    ui.settings = settings;
    const provider = settings.oidcConfig && settings.oidcConfig.name;
    if (provider) {
      const sso = h("a", { class: "button", id: "sso", href: "/auth/login?return_url=" + encodeURIComponent(target) },
        "Log in with " + provider);
      document.getElementById("login-actions").append(sso);
    }
  }).catch(() => { /* no SSO link without settings */ });
}

document.getElementById("logout").addEventListener("click", async () => {
  try {
    await api("DELETE", "/api/v1/session");
  } catch (_) { /* logged out already */ }
  ui.user = null;
  go("/ui/login", false);
});

