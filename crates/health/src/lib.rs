//! Health of Kubernetes objects: built-in checks per kind, Lua overrides, aggregation (pure)
