//! The request headers, looked up by name regardless of case.

/// A request's headers. Names compare case-insensitively; when a name is given more than once
/// the first value counts, as Go's `Header.Get` answers.
///
/// From an `http::HeaderMap`: `map.iter().filter_map(|(n, v)| Some((n.as_str(), v.to_str().ok()?))).collect()`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a header; a later value of a name already present is kept but never read.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries
            .push((name.into().to_ascii_lowercase(), value.into()));
    }

    /// The first value of `name`, if any.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name` when it is present and not empty (Go's `Header.Get(..) != ""`).
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.insert(name, value);
        }
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_ignore_case_and_the_first_value_counts() {
        let headers: Headers = [
            ("X-GitHub-Event", "push"),
            ("x-github-event", "ping"),
            ("X-Empty", ""),
        ]
        .into_iter()
        .collect();
        assert_eq!(headers.get("X-GITHUB-EVENT"), Some("push"));
        assert_eq!(headers.get("X-Empty"), Some(""));
        assert_eq!(headers.non_empty("X-Empty"), None);
        assert_eq!(headers.get("X-Missing"), None);
    }
}
