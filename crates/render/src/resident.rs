//! Resident memory of a running tool, read from /proc: of the process alone, or of every
//! process in the group it leads (plugins start children that do the work). Where /proc
//! cannot be read the answer is 0, so the memory limit never kills by mistake.

/// Bytes resident in memory for `pid`, or for its whole process group when `group`.
pub fn bytes(pid: u32, group: bool) -> u64 {
    let page = rustix::param::page_size() as u64;
    if !group {
        return stat(pid).map_or(0, |s| s.rss_pages * page);
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .filter(|s| s.group == pid)
        .map(|s| s.rss_pages * page)
        .sum()
}

struct Stat {
    group: u32,
    rss_pages: u64,
}

/// `/proc/<pid>/stat`: after the command name (in parentheses, which may hold anything) come
/// state, ppid, pgrp, … and, 22nd after the name, rss in pages.
fn stat(pid: u32) -> Option<Stat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text
        .get(text.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    Some(Stat {
        group: fields.get(2)?.parse().ok()?,
        rss_pages: fields.get(21)?.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_process_uses_some_memory() {
        let own = super::bytes(std::process::id(), false);
        assert!(own > 1 << 20, "{own}");
    }
}
