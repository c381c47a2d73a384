//! The notifications configuration as the API server holds it: the ConfigMap and the Secret,
//! each followed by a watch of that one object, so that evaluating an app reads nothing from
//! the API server. The configuration is published once both have been listed, and again each
//! time either changes.

use crate::config::{CONFIG_MAP, SECRET};
use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};

/// One named object as its watch has told it: unknown until its first listing ends.
#[derive(Debug)]
pub(crate) struct Followed<K> {
    listed: bool,
    current: Option<K>,
    /// What a listing under way has found so far.
    relisting: Option<Option<K>>,
}

impl<K> Default for Followed<K> {
    fn default() -> Self {
        Followed {
            listed: false,
            current: None,
            relisting: None,
        }
    }
}

impl<K> Followed<K> {
    /// Takes one event; whether what the object is now may have changed.
    pub(crate) fn apply(&mut self, event: Event<K>) -> bool {
        match event {
            Event::Init => {
                self.relisting = Some(None);
                false
            }
            Event::InitApply(object) => {
                self.relisting = Some(Some(object));
                false
            }
            Event::InitDone => {
                // A listing that found nothing means the object is gone (or never was).
                self.current = self.relisting.take().flatten();
                self.listed = true;
                true
            }
            Event::Apply(object) => {
                self.current = Some(object);
                self.listed
            }
            Event::Delete(_) => {
                self.current = None;
                self.listed
            }
        }
    }

    /// The object, once listed (`Some(None)`: listed, and there is none).
    pub(crate) fn known(&self) -> Option<Option<&K>> {
        self.listed.then_some(self.current.as_ref())
    }
}

enum Change {
    Map(Event<ConfigMap>),
    Secret(Event<Secret>),
}

fn one<K>(
    client: &Client,
    namespace: &str,
    name: &str,
) -> impl Stream<Item = watcher::Result<Event<K>>> + use<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
    K::DynamicType: Default,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    watcher::watcher(
        api,
        watcher::Config::default().fields(&format!("metadata.name={name}")),
    )
    .default_backoff()
}

/// Follows the ConfigMap and the Secret in `namespace`, calling `publish` with both each time
/// either may have changed, once both are known. Returns only if the watches end (they retry
/// on their own, so: never).
pub(crate) async fn follow(
    client: Client,
    namespace: &str,
    mut publish: impl FnMut(Option<&ConfigMap>, Option<&Secret>),
) {
    let maps = one::<ConfigMap>(&client, namespace, CONFIG_MAP).map(|e| e.map(Change::Map));
    let secrets = one::<Secret>(&client, namespace, SECRET).map(|e| e.map(Change::Secret));
    let mut changes = futures::stream::select(maps.boxed(), secrets.boxed());
    let mut map = Followed::<ConfigMap>::default();
    let mut secret = Followed::<Secret>::default();
    while let Some(change) = changes.next().await {
        let changed = match change {
            Ok(Change::Map(event)) => map.apply(event),
            Ok(Change::Secret(event)) => secret.apply(event),
            Err(error) => {
                tracing::warn!(%error, "failed to watch the notifications configuration; retrying, with the last one read meanwhile");
                false
            }
        };
        if changed && let (Some(map), Some(secret)) = (map.known(), secret.known()) {
            publish(map, secret);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_until_listed_then_absent_when_the_listing_found_nothing() {
        let mut followed = Followed::<&str>::default();
        assert_eq!(followed.known(), None);
        assert!(!followed.apply(Event::Init));
        assert_eq!(followed.known(), None);
        assert!(followed.apply(Event::InitDone));
        assert_eq!(followed.known(), Some(None));
    }

    #[test]
    fn a_relisting_replaces_what_was_known_only_when_it_ends() {
        let mut followed = Followed::default();
        followed.apply(Event::Init);
        followed.apply(Event::InitApply("v1"));
        followed.apply(Event::InitDone);
        assert_eq!(followed.known(), Some(Some(&"v1")));
        followed.apply(Event::Init);
        followed.apply(Event::InitApply("v2"));
        assert_eq!(followed.known(), Some(Some(&"v1")));
        followed.apply(Event::InitDone);
        assert_eq!(followed.known(), Some(Some(&"v2")));
        // Deleted while the watch was down: the next listing finds nothing.
        followed.apply(Event::Init);
        followed.apply(Event::InitDone);
        assert_eq!(followed.known(), Some(None));
    }

    #[test]
    fn changes_after_the_listing_are_told() {
        let mut followed = Followed::default();
        // Before the first listing ends nothing is published.
        assert!(!followed.apply(Event::Apply("early")));
        followed.apply(Event::Init);
        followed.apply(Event::InitDone);
        assert!(followed.apply(Event::Apply("v3")));
        assert_eq!(followed.known(), Some(Some(&"v3")));
        assert!(followed.apply(Event::Delete("v3")));
        assert_eq!(followed.known(), Some(None));
    }
}
