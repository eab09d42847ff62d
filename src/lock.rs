//! The workspace lock: two applies next to one spec cannot run at once.
//!
//! `.mailinfra.lock` is created next to the spec with `create_new` (atomic on
//! every local file system) and holds the holder's pid, host and start time. A
//! lock whose process is gone (on this host) is stale and taken over; the lock is
//! removed when the guard drops, on every return path.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

pub const LOCK_FILE: &str = ".mailinfra.lock";

/// Holds the lock until dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| std::env::var("HOSTNAME").unwrap_or_default())
}

/// Whether a process with this pid runs on this machine (Linux: `/proc`); on
/// systems without `/proc` a lock is never presumed stale.
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// The workspace file `name` in the directory of the spec at `spec`.
pub fn beside(spec: &Path, name: &str) -> PathBuf {
    spec.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}

impl Lock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock for the spec at `spec`, or says who holds it.
    pub fn acquire(spec: &Path) -> anyhow::Result<Lock> {
        let path = beside(spec, LOCK_FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or_default();
                    writeln!(
                        f,
                        "pid={}\nhost={}\nstarted={now}",
                        std::process::id(),
                        host()
                    )
                    .with_context(|| format!("cannot write `{}`", path.display()))?;
                    return Ok(Lock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let field = |k: &str| {
                        text.lines()
                            .find_map(|l| l.strip_prefix(&format!("{k}=")))
                            .unwrap_or("")
                            .to_string()
                    };
                    let pid: Option<u32> = field("pid").parse().ok();
                    let same_host = field("host") == host();
                    if same_host && pid.is_some_and(|p| !alive(p)) {
                        // Its holder is gone (killed, crashed): stale.
                        std::fs::remove_file(&path).ok();
                        continue;
                    }
                    bail!(
                        "another mailinfra apply runs in this workspace (pid {}, host {}, lock `{}`); wait for it to finish. \
                         If it is gone, delete the lock file",
                        field("pid"),
                        field("host"),
                        path.display()
                    );
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create `{}`", path.display()));
                }
            }
        }
        bail!("cannot take the lock `{}`", path.display())
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        std::fs::remove_file(&self.path).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_and_lock_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("mailinfra.yaml");
        let lock = Lock::acquire(&spec).unwrap();
        let err = Lock::acquire(&spec).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!dir.path().join(LOCK_FILE).exists());
        Lock::acquire(&spec).unwrap();
    }

    #[test]
    fn a_dead_holder_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("mailinfra.yaml");
        // Pids this large are never handed out on Linux (pid_max ≤ 4194304).
        std::fs::write(
            dir.path().join(LOCK_FILE),
            format!("pid=4294967\nhost={}\nstarted=0\n", host()),
        )
        .unwrap();
        let _lock = Lock::acquire(&spec).unwrap();
        let text = std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap();
        assert!(text.contains(&format!("pid={}", std::process::id())));
    }
}
