#!/bin/sh
# One ConfigMap made of Argo CD's build environment, the plugin env and the parameters.
set -e
cat <<YAML
apiVersion: v1
kind: ConfigMap
metadata:
  name: $ARGOCD_APP_NAME-config
data:
  namespace: "$ARGOCD_APP_NAMESPACE"
  project: "$ARGOCD_APP_PROJECT_NAME"
  revision: "$ARGOCD_APP_REVISION"
  revisionShort: "$ARGOCD_APP_REVISION_SHORT"
  path: "$ARGOCD_APP_SOURCE_PATH"
  repo: "$ARGOCD_APP_SOURCE_REPO_URL"
  targetRevision: "$ARGOCD_APP_SOURCE_TARGET_REVISION"
  kubeVersion: "$KUBE_VERSION"
  apiVersions: "$KUBE_API_VERSIONS"
  foo: "$ARGOCD_ENV_FOO"
  rev: "$ARGOCD_ENV_REV"
  tag: "$PARAM_IMAGE_TAG"
  firstFile: "$PARAM_VALUE_FILES_0"
  secondFile: "$PARAM_VALUE_FILES_1"
  helmTag: "$PARAM_HELM_PARAMETERS_IMAGE_TAG"
  parameters: '$ARGOCD_APP_PARAMETERS'
  init: "$(cat init-output.txt)"
  leaked: "${CARGO_PKG_NAME:-unset}"
  home: "$HOME"
  homeWritable: "$( [ -d "$HOME" ] && [ -w "$HOME" ] && echo yes || echo no )"
  readme: "$(cat README.md)"
  executable: "$( [ -x run.sh ] && echo yes || echo no )"
YAML
