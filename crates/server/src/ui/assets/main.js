// The UI's entry: reads the path and draws the view it names, once logged in.
import { api, closeStream, errorView, showChrome, ui } from "./core.js";
import { appView } from "./app.js";
import { appSetListView, appSetView } from "./appsets.js";
import { auditReadable, auditView } from "./audit.js";
import { diffView } from "./diff.js";
import { listView } from "./list.js";
import { loginView } from "./login.js";
import { revisionView } from "./revision.js";
import { treeView } from "./tree.js";

async function route() {
  closeStream();
  const path = location.pathname.replace(/\/+$/, "");
  const params = new URLSearchParams(location.search);
  if (path === "/ui/login") return loginView(params.get("next"));
  if (!ui.user) {
    try {
      ui.user = await api("GET", "/api/v1/session/userinfo");
      // Whether the audit trail is offered is asked again for each user.
      ui.audit = undefined;
    } catch (error) {
      if (error.status !== 401) return errorView(error);
      return;
    }
  }
  showChrome(true);
  const app = path.match(/^\/ui\/applications\/([^/]+)(\/diff|\/revision|\/audit)?$/);
  const appSet = path.match(/^\/ui\/applicationsets\/([^/]+)$/);
  try {
    if (ui.audit === undefined) {
      ui.audit = await auditReadable();
      document.getElementById("nav-audit").hidden = !ui.audit;
    }
    const name = app && decodeURIComponent(app[1]);
    if (app && app[2] === "/diff") return await diffView(name, params);
    if (app && app[2] === "/revision") return await revisionView(name, params);
    if (app && app[2] === "/audit") return await auditView(params, name);
    if (app) return await appView(name);
    if (path === "/ui/tree") return await treeView();
    if (path === "/ui/applicationsets") return await appSetListView();
    if (appSet) return await appSetView(decodeURIComponent(appSet[1]));
    if (path === "/ui/audit") return await auditView(params, null);
    return await listView(params);
  } catch (error) {
    if (error.status !== 401) errorView(error);
  }
}

ui.route = route;
route();
