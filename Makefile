# The two commands that matter: `make demo` and `make test`. Both build what is missing first.
SHELL := /bin/bash
.DEFAULT_GOAL := help
CARGO ?= cargo
# Tests run against the local control plane unless you name another cluster:
#   make test TEST_KUBECONFIG=$$HOME/.kube/config
TEST_KUBECONFIG ?=
LOCAL_ENV = eval "$$(hack/cluster env)"

.PHONY: help tools cluster-up cluster-down cluster-status build build-release test test-unit test-integration faults demo demo-bump demo-stop bench lua-compat fuzz lint fmt install-manifests image

help:
	@echo "make demo    build, start the local cluster, run the AI platform example with driftless serve"
	@echo "make demo-bump   commit a new LiteLLM image tag and watch it roll out"
	@echo "make test    build, start the local cluster (unless TEST_KUBECONFIG is given), run every test tier"
	@echo "make bench   print speed and memory figures"
	@echo "make lua-compat   run Argo CD's own Lua health test cases through our Lua engine"
	@echo "make fuzz    fuzz every input parser and evaluator, FUZZ_RUNS (10^6) executions per target"
	@echo "make faults  the long fault run on a control plane of its own (kills, restarts, outages); prints the fault table"
	@echo "make install-manifests   render install/helm/driftless into install/kustomize (and its CRDs)"
	@echo "make image   build the container image (install/image/Containerfile) with docker, podman or buildah"
	@echo "make cluster-up | cluster-down | cluster-status | lint | fmt"

tools:
	hack/build-tools >/dev/null

cluster-up: tools
	hack/cluster up

cluster-down:
	hack/cluster down
	hack/second-cluster down

cluster-status:
	hack/cluster status

build:
	$(CARGO) build --workspace --all-targets

build-release:
	$(CARGO) build --release --bin driftless

# Unit tests need no cluster; render's tests run the real helm and kustomize, the audit
# store's run on SQLite and on a local PostgreSQL (hack/postgres).
test-unit: tools
	hack/postgres up
	export PATH="$$(hack/build-tools | tail -n 1):$$PATH" && eval "$$(hack/postgres env)" && $(CARGO) test --workspace

# Multi-cluster tests deploy to a second local control plane (hack/second-cluster), also with
# TEST_KUBECONFIG, so they never touch a cluster you did not start for them. The web UI's tests
# drive Debian's headless Chromium (hack/chromium installs it when missing).
SECOND_ENV = eval "$$(hack/second-cluster env)"
ifeq ($(TEST_KUBECONFIG),)
test-integration: tools
	hack/cluster up
	hack/second-cluster up
	hack/chromium ensure
	$(LOCAL_ENV) && $(SECOND_ENV) && $(CARGO) test --workspace --test integration
else
test-integration: tools
	hack/second-cluster up
	hack/chromium ensure
	export PATH="$$(hack/build-tools | tail -n 1):$$PATH" KUBECONFIG="$(TEST_KUBECONFIG)" && $(SECOND_ENV) && $(CARGO) test --workspace --test integration
endif

test: test-unit test-integration

# The long fault run: its own control plane (hack/fault-cluster), whose etcd and API server the
# restart cases kill and start again (one at a time, after the other cases, as every client of
# that control plane sees the restart); more SIGKILLs and longer outages than `make test`'s.
faults: tools
	hack/fault-cluster up
	set -o pipefail; eval "$$(hack/fault-cluster env)" && export DRIFTLESS_FAULT_SCALE=long && \
	  { $(CARGO) test --workspace --test integration faults:: -- --nocapture && \
	    $(CARGO) test --workspace --test integration faults:: -- --ignored --nocapture --test-threads 1; } \
	  | tee target/faults.log; status=$$?; hack/fault-cluster down; \
	  echo "fault | injected | syncs completed | objects lost"; grep -o 'fault table |.*' target/faults.log | cut -d'|' -f2-; \
	  exit $$status

demo: tools build-release
	hack/cluster up
	hack/demo start

demo-bump:
	hack/demo bump

demo-stop:
	hack/demo stop

# Benchmarks print figures; they never pass or fail on time.
bench: tools build-release
	hack/cluster up
	export PATH="$$(hack/build-tools | tail -n 1):$$PATH" && \
	  $(CARGO) run --release -q -p driftless-diff --example diff_bench && \
	  $(CARGO) run --release -q -p driftless-guard --example bench_check && \
	  $(CARGO) run --release -q -p driftless-render --example render_times && \
	  $(CARGO) run --release -q -p driftless-render --example render_many_apps && \
	  $(CARGO) run --release -q -p driftless-charts --example chart_fetches && \
	  $(CARGO) run --release -q -p driftless-source --example tree_lookup_bench
	$(LOCAL_ENV) && $(CARGO) run --release -q -p driftless-server --example list_bench
	hack/chromium ensure
	$(LOCAL_ENV) && $(CARGO) run --release -q -p driftless-server --example ui_bench
	$(LOCAL_ENV) && hack/bench-sync target/release/driftless
	$(LOCAL_ENV) && hack/bench-controller target/release/driftless
	$(LOCAL_ENV) && hack/bench-audit target/release/driftless
	# Each scale run on a fresh cluster, and so is the cluster alone before it: a cluster that
	# has just created and deleted thousands of objects answers more slowly. The last is
	# issue-size: 10,000 apps (the cluster-alone run left out, at 10,000 namespaces it takes
	# minutes).
	# A cluster thrown away after a run need not delete what the run made (BENCH_CLEANUP=0).
	for shape in flux argo; do \
	  hack/cluster down && hack/cluster up && \
	  ( $(LOCAL_ENV) && BENCH_CLEANUP=0 BENCH_BASELINE=only hack/bench-scale target/release/driftless $$shape ) && \
	  hack/cluster down && hack/cluster up && \
	  ( $(LOCAL_ENV) && BENCH_CLEANUP=0 BENCH_BASELINE=0 hack/bench-scale target/release/driftless $$shape ) || exit 1; \
	done
	hack/cluster down && hack/cluster up
	$(LOCAL_ENV) && BENCH_CLEANUP=0 BENCH_APPS=10000 BENCH_BASELINE=0 BENCH_COMMITS=3 BENCH_REST=30 \
	  hack/bench-scale target/release/driftless argo
	hack/cluster down && hack/cluster up

# Argo CD's bundled health scripts and their test cases, from its Go module (not vendored:
# fetched through the Go module proxy into a cache of our own). Its go.mod may ask for a newer
# Go than ours, so `go mod download` can fail after the zip is fetched and verified: the zip is
# all we read. Prints figures; never part of `make test`.
ARGO_CD_VERSION ?= v3.6.1
ARGO_CD_MODCACHE = $(HOME)/.cache/driftless/argo-cd-gomod
ARGO_CD_ZIP = $(ARGO_CD_MODCACHE)/cache/download/github.com/argoproj/argo-cd/v3/@v/$(ARGO_CD_VERSION).zip
ARGO_CD_TREE = $(HOME)/.cache/driftless/argo-cd-$(ARGO_CD_VERSION)
lua-compat:
	@mkdir -p "$(HOME)/.cache/driftless"
	@test -f "$(ARGO_CD_ZIP)" || GOMODCACHE="$(ARGO_CD_MODCACHE)" GOFLAGS=-mod=mod GOTOOLCHAIN=local \
	  go mod download -json github.com/argoproj/argo-cd/v3@$(ARGO_CD_VERSION) >"$(ARGO_CD_MODCACHE).json" 2>&1 || true
	@test -f "$(ARGO_CD_ZIP)" || { cat "$(ARGO_CD_MODCACHE).json" >&2; exit 1; }
	@test -d "$(ARGO_CD_TREE)" || { rm -rf "$(ARGO_CD_TREE).tmp" && mkdir -p "$(ARGO_CD_TREE).tmp" && \
	  unzip -q "$(ARGO_CD_ZIP)" 'github.com/argoproj/argo-cd/v3@$(ARGO_CD_VERSION)/resource_customizations/*' -d "$(ARGO_CD_TREE).tmp" && \
	  mv "$(ARGO_CD_TREE).tmp/github.com/argoproj/argo-cd/v3@$(ARGO_CD_VERSION)/resource_customizations" "$(ARGO_CD_TREE)" && \
	  rm -rf "$(ARGO_CD_TREE).tmp"; }
	$(CARGO) run --release -q -p driftless-health --example argo_lua_cases -- "$(ARGO_CD_TREE)"

# The fuzzer (crates/fuzz, stable Rust): per target, executions, panics and exec/s; each
# reproducing input is saved under $TMPDIR/driftless-fuzz. FUZZ_ARGS="--target lua --seed 7".
# About 40 minutes on 2 cores; never part of `make test`.
FUZZ_RUNS ?= 1000000
FUZZ_ARGS ?=
fuzz:
	$(CARGO) run --release -q -p driftless-fuzz -- --runs $(FUZZ_RUNS) $(FUZZ_ARGS)

# The chart is the install's one source; the Kustomize install is rendered from it.
install-manifests: tools
	export PATH="$$(hack/build-tools | tail -n 1):$$PATH" && hack/install-manifests

# The container image; never part of `make test`. IMAGE=registry.example/driftless:tag to name it.
IMAGE ?= driftless:$(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
image:
	@builder=$$(command -v docker || command -v podman || command -v buildah || true); \
	  if [ -z "$$builder" ]; then echo "make image needs docker, podman or buildah on PATH" >&2; exit 1; fi; \
	  case "$$builder" in */buildah) set -x; "$$builder" bud -f install/image/Containerfile -t "$(IMAGE)" . ;; \
	    *) set -x; "$$builder" build -f install/image/Containerfile -t "$(IMAGE)" . ;; esac

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
