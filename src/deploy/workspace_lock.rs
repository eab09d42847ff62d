//! The workspace lock: two applies next to one spec cannot run at once.
//!
//! `.mailinfra-apply.lock` (not to be confused with `mailinfra.lock`, which
//! records placement) is opened next to the spec and held with an OS file lock
//! (`flock`) for the life of the apply: the kernel releases it when the process
//! ends, however it ends, so a killed apply never leaves a lock that must be
//! taken over by guessing. The file names its holder's pid, host and start
//! time for the message a second apply prints; the holder removes only the
//! file it locked.

use std::fs::{File, TryLockError};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The lock file's name, next to the spec.
pub const FILE: &str = ".mailinfra-apply.lock";

/// Holds the workspace until dropped.
#[derive(Debug)]
pub struct WorkspaceLock {
    path: PathBuf,
    file: File,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| std::env::var("HOSTNAME").unwrap_or_default())
}

/// The workspace file `name` in the directory of the spec at `spec`.
pub fn beside(spec: &Path, name: &str) -> PathBuf {
    spec.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(name)
}

/// Whether `file` is still the file at `path` (it was not removed and
/// replaced between our open and our lock).
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

impl WorkspaceLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock for the spec at `spec`, or says who holds it.
    pub fn acquire(spec: &Path) -> anyhow::Result<WorkspaceLock> {
        let path = beside(spec, FILE);
        // A holder that ends removes its file; one that we opened just before
        // is locked by nobody, so we try again on the file now at the path.
        for _ in 0..8 {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .with_context(|| format!("cannot open the workspace lock `{}`", path.display()))?;
            match file.try_lock() {
                Ok(()) if same_file(&file, &path) => {
                    let mut lock = WorkspaceLock { path, file };
                    lock.describe_holder()?;
                    return Ok(lock);
                }
                Ok(()) => continue,
                Err(TryLockError::WouldBlock) => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    let field = |k: &str| {
                        text.lines()
                            .find_map(|l| l.strip_prefix(&format!("{k}=")))
                            .unwrap_or("?")
                            .to_string()
                    };
                    bail!(
                        "another mailinfra apply runs in this workspace (pid {}, host {}, lock `{}`); wait for it to finish",
                        field("pid"),
                        field("host"),
                        path.display()
                    );
                }
                Err(TryLockError::Error(e)) => {
                    return Err(e).with_context(|| format!("cannot lock `{}`", path.display()));
                }
            }
        }
        bail!("cannot take the workspace lock `{}`", path.display())
    }

    /// Writes who holds the lock, for the message a second apply prints.
    fn describe_holder(&mut self) -> anyhow::Result<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        self.file.set_len(0)?;
        writeln!(
            self.file,
            "pid={}\nhost={}\nstarted={now}",
            std::process::id(),
            host()
        )
        .with_context(|| format!("cannot write `{}`", self.path.display()))
    }
}

impl Drop for WorkspaceLock {
    fn drop(&mut self) {
        // Only the file we hold: removed while still locked, so nobody can
        // lock it between the removal and the release.
        if same_file(&self.file, &self.path) {
            std::fs::remove_file(&self.path).ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_the_lock_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("mailinfra.yaml");
        let lock = WorkspaceLock::acquire(&spec).unwrap();
        let err = WorkspaceLock::acquire(&spec).unwrap_err().to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(lock);
        assert!(!dir.path().join(FILE).exists());
        WorkspaceLock::acquire(&spec).unwrap();
    }

    #[test]
    fn a_file_nobody_holds_is_taken_whatever_it_says() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("mailinfra.yaml");
        // Left by an apply that was killed: the kernel released its lock.
        std::fs::write(
            dir.path().join(FILE),
            format!("pid={}\nhost={}\nstarted=0\n", std::process::id(), host()),
        )
        .unwrap();
        let _lock = WorkspaceLock::acquire(&spec).unwrap();
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text.contains(&format!("pid={}", std::process::id())));
        assert!(text.contains("started=") && !text.contains("started=0\n"));
    }

    #[test]
    fn dropping_a_lock_whose_file_was_replaced_leaves_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("mailinfra.yaml");
        let lock = WorkspaceLock::acquire(&spec).unwrap();
        std::fs::remove_file(dir.path().join(FILE)).unwrap();
        let other = WorkspaceLock::acquire(&spec).unwrap();
        drop(lock);
        assert!(
            dir.path().join(FILE).exists(),
            "the other holder's file stays"
        );
        drop(other);
        assert!(!dir.path().join(FILE).exists());
    }
}
