#!/usr/bin/env bash
# Creates, once, the Secrets the platform reads but git never holds: the LiteLLM master key,
# the Grafana admin password, the Weaviate API key and Dify's secret key and database
# password. Random values, made here and nowhere else; a Secret that exists is kept as it
# is, so running this again never rotates a key. (A real platform would use External
# Secrets or Sealed Secrets for the same job.)
#
# Run after the root Application has created the namespaces (wave 1); it waits for them.
set -euo pipefail

random() { od -An -tx1 -N24 /dev/urandom | tr -d ' \n'; }

# create NAMESPACE NAME KEY=VALUE...
create() {
  local namespace=$1 name=$2
  shift 2
  kubectl wait --for=jsonpath='{.status.phase}'=Active "namespace/$namespace" --timeout=300s >/dev/null
  if kubectl -n "$namespace" get secret "$name" >/dev/null 2>&1; then
    echo "secret $namespace/$name exists; kept"
    return
  fi
  local literals=()
  for pair in "$@"; do literals+=("--from-literal=$pair"); done
  kubectl -n "$namespace" create secret generic "$name" "${literals[@]}"
}

create litellm litellm-master-key "master-key=sk-$(random)"
create monitoring grafana-admin "password=$(random)"
create data weaviate-api-keys "allowed-keys=$(random)"
create llm-platform llm-platform-secrets "secret-key=$(random)" "db-password=$(random)"
