// `k` and `motd.txt` come from the vendor lib; `which` is in lib-a and lib-b (the
// last lib listed wins); `near` sits next to this file.
local k = import 'k.libsonnet';
k.configMap('From_Libs', {
  which: import 'which.libsonnet',
  near: import 'near.libsonnet',
  motd: importstr 'motd.txt',
  prefix: std.extVar('prefix'),
})
