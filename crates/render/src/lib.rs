//! Render an Application's desired objects from a commit: directory, Kustomize, Helm; with a render cache
