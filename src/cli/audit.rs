//! `driftless audit list|show|verify|export`: the audit log read straight from its database.
//! The printing is here as pure functions of entries, so the same output serves when the
//! commands go through the API server.

use clap::{Args, Subcommand, ValueEnum};
use driftless_audit::{AuditError, Broken, Checkpoint, Entry, Filter, Kind, Store, Verified};
use driftless_server::error::chain;

use super::app::table::{Cell, Table};
use super::app_source::CommandError;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The audit database: `sqlite:///abs/path.db`, `sqlite://relative.db`, a path, or
    /// `postgres://user@host:port/db` (the controller's default unless told otherwise).
    #[arg(
        long,
        global = true,
        env = "DRIFTLESS_AUDIT_DATABASE",
        hide_env_values = true,
        default_value_t = driftless_audit::default_database_url()
    )]
    pub database: String,
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List entries, oldest first: SEQ TIME KIND APP USER OBJECT RESULT.
    List(FilterArgs),
    /// Print one entry whole, with its diff.
    Show {
        seq: u64,
        #[arg(short, long, value_enum, default_value = "text")]
        output: Output,
    },
    /// Check that no entry was edited, deleted, inserted, reordered or truncated away
    /// (exit 1 naming the first bad entry).
    Verify {
        /// The base64 ed25519 public key checkpoints must be signed with (the controller logs
        /// it, and keeps its key in a Secret). Without it, they must all carry one key.
        #[arg(long, env = "DRIFTLESS_AUDIT_PUBLIC_KEY")]
        public_key: Option<String>,
        /// Also check against the checkpoint the controller published in this namespace's
        /// ConfigMap driftless-audit-checkpoint (through KUBECONFIG), and trust its key: what
        /// catches a tail cut together with the database's own checkpoints.
        #[arg(long, value_name = "NAMESPACE")]
        namespace: Option<String>,
    },
    /// Print entries as JSON lines, one entry a line.
    Export(FilterArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone, Default, Args)]
pub struct FilterArgs {
    /// Only this Application ("namespace/name").
    #[arg(long)]
    pub app: Option<String>,
    /// Only changes by this user.
    #[arg(long)]
    pub user: Option<String>,
    /// Only objects whose name contains this ("apps/Deployment shop/web").
    #[arg(long)]
    pub object: Option<String>,
    /// Only this kind: SyncStarted, SyncCompleted, ObjectApplied, ObjectPruned, HookRun,
    /// SyncLoopTripped, GuardRefused, ApplicationEdited, ProjectEdited.
    #[arg(long)]
    pub kind: Option<Kind>,
    /// Only entries at or after this RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only entries before this RFC 3339 time.
    #[arg(long)]
    pub until: Option<String>,
    /// Only entries after this seq (to page on from the last one seen).
    #[arg(long)]
    pub after_seq: Option<u64>,
    /// At most this many entries.
    #[arg(long)]
    pub limit: Option<usize>,
}

impl FilterArgs {
    /// The store's filter; times in any RFC 3339 form become the stored one.
    pub fn filter(&self) -> Result<Filter, CommandError> {
        let time = |t: &Option<String>| {
            t.as_deref()
                .map(driftless_audit::normalize_time)
                .transpose()
                .map_err(|e| CommandError::Usage(e.to_string()))
        };
        Ok(Filter {
            app: self.app.clone(),
            user: self.user.clone(),
            object: self.object.clone(),
            kind: self.kind,
            since: time(&self.since)?,
            until: time(&self.until)?,
            after_seq: self.after_seq,
            limit: self.limit,
            ..Filter::default()
        })
    }
}

pub async fn run(args: AuditArgs) -> Result<bool, CommandError> {
    let url = args.database;
    match args.command {
        AuditCommand::List(f) => {
            let filter = f.filter()?;
            let entries = with_store(url, move |s| s.list(&filter)).await?;
            if entries.is_empty() {
                eprintln!("no audit entries match");
            } else {
                print_table(&entries);
            }
        }
        AuditCommand::Show { seq, output } => {
            let entry = with_store(url, move |s| s.get(seq)).await?.ok_or_else(|| {
                CommandError::NotFound(format!("audit entry {seq} does not exist"))
            })?;
            match output {
                Output::Text => print!("{}", entry_text(&entry)),
                Output::Json => println!("{}", entry_json_pretty(&entry)),
            }
        }
        AuditCommand::Verify {
            public_key,
            namespace,
        } => {
            let mut published = Vec::new();
            let mut trusted = public_key;
            if let Some(namespace) = namespace {
                let client = kube::Client::try_default().await.map_err(|e| {
                    CommandError::Unreachable(format!(
                        "failed to connect to the cluster (KUBECONFIG): {e}"
                    ))
                })?;
                let checkpoint =
                    driftless_controller::audit::sink::published_checkpoint(&client, &namespace)
                        .await
                        .map_err(|e| CommandError::Unreachable(chain(&e)))?
                        .ok_or_else(|| {
                            CommandError::NotFound(format!(
                                "no audit checkpoint is published in namespace {namespace}"
                            ))
                        })?;
                trusted = trusted.or_else(|| Some(checkpoint.public_key.clone()));
                published.push(checkpoint);
            }
            println!("{}", verify(url, trusted, published).await?);
        }
        AuditCommand::Export(f) => {
            let filter = f.filter()?;
            let entries = with_store(url, move |s| s.list(&filter)).await?;
            print!("{}", json_lines(&entries));
        }
    }
    Ok(true)
}

/// Verifies the log at `url`, with `published` checkpoints besides the stored ones (the one
/// the controller keeps in the cluster, out of the database administrator's reach); returns
/// the line to print.
pub async fn verify(
    url: String,
    public_key: Option<String>,
    published: Vec<Checkpoint>,
) -> Result<String, CommandError> {
    let read = with_store(url, |s| match s.all() {
        // A filter column that disagrees with its entry's record: edited in the database.
        Err(AuditError::Mismatch { seq, column }) => Ok(Err((seq, column))),
        all => Ok(Ok((all?, s.anchor()?, s.checkpoints()?))),
    })
    .await?;
    let (entries, anchor, mut checkpoints) = read.map_err(|(seq, column)| {
        CommandError::Failed(format!(
            "the audit log does not verify: entry {seq} was edited: its {column} column disagrees with its record"
        ))
    })?;
    checkpoints.extend(published);
    let verified = driftless_audit::verify(
        entries,
        anchor.as_ref(),
        &checkpoints,
        public_key.as_deref(),
    )
    .map_err(broken)?;
    Ok(verified_text(&verified, public_key.is_some()))
}

fn broken(b: Broken) -> CommandError {
    CommandError::Failed(format!("the audit log does not verify: {b}"))
}

/// Opens the store and runs `f` on a blocking thread: the PostgreSQL client is synchronous and
/// must not run on the runtime's threads.
async fn with_store<T: Send + 'static>(
    url: String,
    f: impl FnOnce(&mut dyn Store) -> Result<T, AuditError> + Send + 'static,
) -> Result<T, CommandError> {
    let result = tokio::task::spawn_blocking(move || {
        let mut store = driftless_audit::open_existing(&url)?;
        f(&mut *store)
    })
    .await
    .map_err(|e| CommandError::Failed(format!("failed to read the audit log: {e}")))?;
    result.map_err(|e| match e {
        AuditError::Url { .. } => CommandError::Usage(chain(&e)),
        AuditError::Connect { .. } => CommandError::Unreachable(chain(&e)),
        _ => CommandError::Failed(chain(&e)),
    })
}

/// Prints [`table`] to stdout, in colour on a terminal (as `app list` does).
pub fn print_table(entries: &[Entry]) {
    use std::io::IsTerminal as _;
    let colour = std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    print!("{}", table(entries, colour));
}

/// SEQ TIME KIND APP USER OBJECT RESULT, a row per entry.
pub fn table(entries: &[Entry], colour: bool) -> String {
    let mut t = Table::new(&["seq", "time", "kind", "app", "user", "object", "result"]);
    for e in entries {
        let r = &e.record;
        let text = |v: &Option<String>| Cell::plain(v.clone().unwrap_or_default());
        t.row(vec![
            Cell::plain(e.seq.to_string()),
            Cell::plain(r.time.clone()),
            Cell::plain(r.kind.map(|k| k.to_string()).unwrap_or_default()),
            text(&r.app),
            text(&r.user),
            text(&r.object),
            Cell::status(r.result.clone().unwrap_or_default()),
        ]);
    }
    t.render(colour)
}

/// Every field of an entry as `Label:  value` lines, then the diff as it was recorded.
pub fn entry_text(e: &Entry) -> String {
    let r = &e.record;
    let mut fields: Vec<(&str, String)> = vec![
        ("Seq", e.seq.to_string()),
        ("Time", r.time.clone()),
        ("Kind", r.kind.map(|k| k.to_string()).unwrap_or_default()),
    ];
    let optional = [
        ("App", &r.app),
        ("Project", &r.project),
        ("User", &r.user),
        ("Trigger", &r.trigger),
        ("Revision", &r.revision),
        ("Object", &r.object),
        ("Before", &r.before),
        ("After", &r.after),
        ("Result", &r.result),
        ("Message", &r.message),
    ];
    fields.extend(
        optional
            .into_iter()
            .filter_map(|(l, v)| Some((l, v.clone()?))),
    );
    if let Some(ms) = r.duration_ms {
        fields.push(("Duration", format!("{ms}ms")));
    }
    fields.push(("Prev hash", e.prev_hash.clone()));
    fields.push(("Hash", e.hash.clone()));
    let width = fields.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 2;
    let mut text: String = fields
        .iter()
        .map(|(l, v)| format!("{:<width$}{v}\n", format!("{l}:")))
        .collect();
    if let Some(diff) = &r.diff {
        text.push_str("Diff:\n");
        text.push_str(diff);
        if !diff.ends_with('\n') {
            text.push('\n');
        }
    }
    text
}

fn entry_json(e: &Entry) -> String {
    // An entry is strings and numbers only: it always serializes.
    serde_json::to_string(e).unwrap_or_default()
}

fn entry_json_pretty(e: &Entry) -> String {
    serde_json::to_string_pretty(e).unwrap_or_default()
}

/// One JSON object per entry, a line each.
pub fn json_lines(entries: &[Entry]) -> String {
    entries.iter().map(|e| entry_json(e) + "\n").collect()
}

/// "verified N entries (seq A..B), head <hash>, K checkpoints", and which key signed them
/// when no trusted key was given.
pub fn verified_text(v: &Verified, trusted_key_given: bool) -> String {
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut text = match &v.head {
        Some(head) => format!(
            "verified {} (seq {}..{}), head {}, {}",
            plural(v.entries, "entry", "entries"),
            v.first,
            head.seq,
            head.hash,
            plural(v.checkpoints as u64, "checkpoint", "checkpoints")
        ),
        None => format!(
            "verified 0 entries (the log is empty), {}",
            plural(v.checkpoints as u64, "checkpoint", "checkpoints")
        ),
    };
    if let (Some(key), false) = (&v.public_key, trusted_key_given) {
        text.push_str(&format!(
            "\nsigned with key {key}, not checked against a trusted key (give it with --public-key)"
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftless_audit::{Head, Record};

    fn entry() -> Entry {
        Entry {
            seq: 12,
            prev_hash: "a".repeat(64),
            hash: "b".repeat(64),
            record: Record {
                time: "2026-12-04T18:00:00.123Z".into(),
                kind: Some(Kind::ObjectApplied),
                app: Some("shop/web".into()),
                user: Some("alice".into()),
                object: Some("apps/Deployment shop/web".into()),
                result: Some("Succeeded".into()),
                diff: Some("-replicas: 1\n+replicas: 3".into()),
                duration_ms: Some(40),
                ..Record::default()
            },
        }
    }

    #[test]
    fn the_table_has_a_row_per_entry_under_its_headers() {
        let text = table(&[entry()], false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let headers: Vec<&str> = lines[0].split_whitespace().collect();
        assert_eq!(
            headers,
            ["SEQ", "TIME", "KIND", "APP", "USER", "OBJECT", "RESULT"]
        );
        assert!(lines[1].starts_with("12 "), "{}", lines[1]);
        for cell in [
            "ObjectApplied",
            "shop/web",
            "alice",
            "apps/Deployment shop/web",
            "Succeeded",
        ] {
            assert!(lines[1].contains(cell), "{cell} in {}", lines[1]);
        }
    }

    #[test]
    fn show_prints_every_field_and_the_diff() {
        let text = entry_text(&entry());
        assert!(text.contains("Kind:      ObjectApplied\n"), "{text}");
        assert!(text.contains("Duration:  40ms\n"), "{text}");
        assert!(
            text.ends_with("Diff:\n-replicas: 1\n+replicas: 3\n"),
            "{text}"
        );
        assert!(!text.contains("Trigger"), "{text}");
    }

    #[test]
    fn export_lines_read_back_as_entries() {
        let text = json_lines(&[entry(), entry()]);
        let back: Vec<Entry> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("an entry a line"))
            .collect();
        assert_eq!(back, [entry(), entry()]);
    }

    #[test]
    fn verified_says_what_was_checked_and_against_which_key() {
        let v = Verified {
            entries: 5,
            first: 3,
            head: Some(Head {
                seq: 7,
                hash: "c".repeat(64),
            }),
            checkpoints: 1,
            public_key: Some("KEY".into()),
        };
        let text = verified_text(&v, true);
        assert_eq!(
            text,
            format!(
                "verified 5 entries (seq 3..7), head {}, 1 checkpoint",
                "c".repeat(64)
            )
        );
        assert!(
            verified_text(&v, false)
                .contains("signed with key KEY, not checked against a trusted key")
        );
    }

    #[test]
    fn times_in_other_forms_are_normalized_for_the_filter() {
        let f = FilterArgs {
            since: Some("2026-12-04T19:00:00+01:00".into()),
            ..FilterArgs::default()
        };
        assert_eq!(
            f.filter().expect("an RFC 3339 time").since.as_deref(),
            Some("2026-12-04T18:00:00.000Z")
        );
        let bad = FilterArgs {
            until: Some("tomorrow".into()),
            ..FilterArgs::default()
        };
        assert!(matches!(bad.filter(), Err(CommandError::Usage(_))));
    }
}
