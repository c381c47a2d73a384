//! The policy every Argo CD installation starts from, below whatever argocd-rbac-cm adds.
//!
//! It defines `role:readonly` and `role:admin` and makes the local `admin` account an admin.
//! The grants follow Argo CD 3.x (`assets/builtin-policy.csv`): since 3.0 `update` and
//! `delete` on an application no longer reach the resources it manages, so the admin role
//! carries `update/*` and `delete/*` for those; `logs` are a resource of their own (reading
//! an application no longer implies reading its pod logs); `applicationsets, get` joined the
//! read-only role in 3.2; `rollback` is granted to admins as on Argo CD's main branch after
//! 3.5 (it is only asked for when `server.rbac.rollback.enforce.enable` is set). Neither
//! role may invoke proxy `extensions`, and only admins may `exec` into pods.

/// Where built-in rules say they come from, in errors and explanations.
pub(crate) const BUILTIN_SOURCE: &str = "the built-in policy";

/// Objects of project-scoped resources are `<project>/<app>` (or `<project>/<ns>/<app>`),
/// hence `*/*`; `*` crosses `/` in glob mode, so `*/*` also covers the three-part form.
pub(crate) const BUILTIN_POLICY_CSV: &str = "
# role:readonly sees everything and changes nothing.
p, role:readonly, applications,       get, */*, allow
p, role:readonly, applicationsets,    get, */*, allow
p, role:readonly, certificates,       get, *,   allow
p, role:readonly, clusters,           get, *,   allow
p, role:readonly, repositories,       get, *,   allow
p, role:readonly, write-repositories, get, *,   allow
p, role:readonly, projects,           get, *,   allow
p, role:readonly, accounts,           get, *,   allow
p, role:readonly, gpgkeys,            get, *,   allow
p, role:readonly, logs,               get, */*, allow

# role:admin may also change everything (and reads through role:readonly below).
p, role:admin, applications, create,   */*, allow
p, role:admin, applications, update,   */*, allow
p, role:admin, applications, update/*, */*, allow
p, role:admin, applications, delete,   */*, allow
p, role:admin, applications, delete/*, */*, allow
p, role:admin, applications, sync,     */*, allow
p, role:admin, applications, rollback, */*, allow
p, role:admin, applications, override, */*, allow
p, role:admin, applications, action/*, */*, allow

p, role:admin, applicationsets, get,    */*, allow
p, role:admin, applicationsets, create, */*, allow
p, role:admin, applicationsets, update, */*, allow
p, role:admin, applicationsets, delete, */*, allow

p, role:admin, certificates, create, *, allow
p, role:admin, certificates, update, *, allow
p, role:admin, certificates, delete, *, allow

p, role:admin, clusters, create, *, allow
p, role:admin, clusters, update, *, allow
p, role:admin, clusters, delete, *, allow

p, role:admin, repositories, create, *, allow
p, role:admin, repositories, update, *, allow
p, role:admin, repositories, delete, *, allow

p, role:admin, write-repositories, create, *, allow
p, role:admin, write-repositories, update, *, allow
p, role:admin, write-repositories, delete, *, allow

p, role:admin, projects, create, *, allow
p, role:admin, projects, update, *, allow
p, role:admin, projects, delete, *, allow

p, role:admin, accounts, update, *, allow

p, role:admin, gpgkeys, create, *, allow
p, role:admin, gpgkeys, delete, *, allow

p, role:admin, exec, create, */*, allow

g, role:admin, role:readonly
g, admin, role:admin
";
