// The UI's entry: reads the path and draws the view it names, once logged in.
import { api, closeStream, errorView, showChrome, ui } from "./core.js";
import { appView } from "./app.js";
import { diffView } from "./diff.js";
import { listView } from "./list.js";
import { loginView } from "./login.js";

async function route() {
  closeStream();
  const path = location.pathname.replace(/\/+$/, "");
  const params = new URLSearchParams(location.search);
  if (path === "/ui/login") return loginView(params.get("next"));
  if (!ui.user) {
    try {
      ui.user = await api("GET", "/api/v1/session/userinfo");
    } catch (error) {
      if (error.status !== 401) return errorView(error);
      return;
    }
  }
  showChrome(true);
  const app = path.match(/^\/ui\/applications\/([^/]+)(\/diff)?$/);
  try {
    if (app && app[2]) return await diffView(decodeURIComponent(app[1]), params);
    if (app) return await appView(decodeURIComponent(app[1]));
    return await listView(params);
  } catch (error) {
    if (error.status !== 401) errorView(error);
  }
}

ui.route = route;
route();
