//! Built-in health checks, one file per kind. Each follows the semantics of Argo CD's
//! built-in check for that kind (gitops-engine's Go checks, or the Lua scripts Argo CD
//! bundles for CronJob, CustomResourceDefinition and Application); Namespace is our own.
//! Versions are not distinguished: the fields read are the same in every served version.
//!
//! Some operators' kinds have checks of our own, read from each operator's documented status
//! fields, where the convention would misread them: cert-manager, Argo Rollouts, Istio,
//! prometheus-operator, external-secrets, KEDA, Strimzi, CloudNativePG (Cluster, Backup,
//! ScheduledBackup, Pooler), Crossplane (resources and packages), Gateway API and Flux. They
//! give no health while the object's status says nothing. Any other custom resource falls
//! back to `convention`.

use crate::HealthStatus;
use serde_json::Value;

mod apiservice;
mod application;
mod certmanager;
mod cnpg;
mod cnpg_backup;
mod cnpg_pooler;
mod convention;
mod crd;
mod cronjob;
mod crossplane;
mod crossplane_pkg;
mod daemonset;
mod deployment;
mod externalsecrets;
mod flux;
mod gateway;
mod hpa;
mod ingress;
mod istio;
mod job;
mod keda;
mod namespace;
mod pod;
mod prometheus;
mod pvc;
mod replicaset;
mod rollout;
mod service;
mod statefulset;
mod strimzi;

/// The health of an object by its group and kind: the built-in check for the kind, else an
/// operator-specific check, else the convention for custom resources; `None` when none
/// of them has anything to say.
pub fn health(group: &str, kind: &str, obj: &Value) -> Option<HealthStatus> {
    if let Some(check) = builtin_check(group, kind) {
        return Some(check(obj));
    }
    match (group, kind) {
        ("cert-manager.io", "Certificate") => certmanager::certificate(obj),
        ("cert-manager.io", "CertificateRequest") => certmanager::certificate_request(obj),
        ("cert-manager.io", "Issuer" | "ClusterIssuer") => certmanager::issuer(obj),
        ("argoproj.io", "Rollout") => rollout::health(obj),
        ("install.istio.io", "IstioOperator") => istio::operator(obj),
        (group, _) if istio::is_config_group(group) => istio::config(obj),
        (
            "monitoring.coreos.com",
            "Prometheus" | "PrometheusAgent" | "Alertmanager" | "ThanosRuler",
        ) => prometheus::health(obj),
        ("external-secrets.io", _) => externalsecrets::health(obj),
        ("keda.sh", "ScaledObject" | "ScaledJob") => keda::health(obj),
        ("keda.sh", "TriggerAuthentication" | "ClusterTriggerAuthentication") => None,
        ("eventing.keda.sh", "CloudEventSource" | "ClusterCloudEventSource") => {
            keda::cloud_event_source(obj)
        }
        ("kafka.strimzi.io", _) => strimzi::health(obj),
        ("postgresql.cnpg.io", "Cluster") => cnpg::cluster(obj),
        ("postgresql.cnpg.io", "Backup") => cnpg_backup::backup(obj),
        ("postgresql.cnpg.io", "ScheduledBackup") => cnpg_backup::scheduled_backup(obj),
        ("postgresql.cnpg.io", "Pooler") => cnpg_pooler::health(obj),
        ("pkg.crossplane.io", "Provider" | "Configuration" | "Function") => {
            crossplane_pkg::package(obj)
        }
        (
            "pkg.crossplane.io",
            "ProviderRevision" | "ConfigurationRevision" | "FunctionRevision",
        ) => crossplane_pkg::package_revision(obj),
        ("gateway.networking.k8s.io", "GatewayClass") => gateway::gateway_class(obj),
        ("gateway.networking.k8s.io", "Gateway") => gateway::gateway(obj),
        ("gateway.networking.k8s.io", _) => gateway::route(obj),
        (group, _) if group.ends_with(".toolkit.fluxcd.io") => flux::health(obj),
        _ if convention::is_kubernetes_group(group) => None,
        // Crossplane's kinds live in the providers' and users' own groups.
        _ if crossplane::is_crossplane_resource(obj) => crossplane::health(obj),
        _ => convention::health(obj),
    }
}

/// The built-in check for a group and kind, if there is one.
fn builtin_check(group: &str, kind: &str) -> Option<fn(&Value) -> HealthStatus> {
    let check: fn(&Value) -> HealthStatus = match (group, kind) {
        ("apps", "Deployment") => deployment::health,
        ("apps", "StatefulSet") => statefulset::health,
        ("apps", "DaemonSet") => daemonset::health,
        ("apps", "ReplicaSet") => replicaset::health,
        ("", "Pod") => pod::health,
        ("", "Service") => service::health,
        ("", "PersistentVolumeClaim") => pvc::health,
        ("", "Namespace") => namespace::health,
        ("networking.k8s.io" | "extensions", "Ingress") => ingress::health,
        ("batch", "Job") => job::health,
        ("batch", "CronJob") => cronjob::health,
        ("autoscaling", "HorizontalPodAutoscaler") => hpa::health,
        ("apiregistration.k8s.io", "APIService") => apiservice::health,
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd::health,
        ("argoproj.io", "Application") => application::health,
        _ => return None,
    };
    Some(check)
}
