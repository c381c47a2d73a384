#!/usr/bin/env bash
# Regenerates the expected kustomizations with the real `kustomize edit` (v5.5.0), running
# the commands Argo CD runs for options.json / options-without-selector.json.
# Usage: KUSTOMIZE=/path/to/kustomize testdata/kustomize_edit/generate.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
k=${KUSTOMIZE:-kustomize}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$here/comp" "$work/"; cp "$here/input.yaml" "$work/kustomization.yaml"
(cd "$work"
  "$k" edit set nameprefix -- p-
  "$k" edit set namesuffix -- -s
  "$k" edit set image nginx=registry:5000/nginx:2.0 redis:7 busybox@sha256:bbb 'x=*:2'
  "$k" edit set replicas web=3 db=1
  "$k" edit add label --force team:b env:prod
  "$k" edit add annotation --force a:1 b:x:y
  "$k" edit set namespace -- ns1
  "$k" edit add component ./comp)
cp "$work/kustomization.yaml" "$here/expected.yaml"
cp "$here/input.yaml" "$work/kustomization.yaml"
(cd "$work" && "$k" edit add label --without-selector --include-templates team:b)
cp "$work/kustomization.yaml" "$here/expected-without-selector.yaml"
