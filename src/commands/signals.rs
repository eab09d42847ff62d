//! Ctrl-C and SIGTERM (what CI runners send when a job is cancelled): the
//! first raises the deploy's interrupt, the second stops at once.

/// Ctrl-C and SIGTERM, each registered once, so that a signal arriving
/// between two waits is not lost.
struct Signals {
    #[cfg(unix)]
    both: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn new() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                both: signal(SignalKind::interrupt())
                    .and_then(|i| Ok((i, signal(SignalKind::terminate())?)))
                    .ok(),
            }
        }
        #[cfg(not(unix))]
        Signals {}
    }

    /// Waits for the next one.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some((int, term)) = &mut self.both {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        tokio::signal::ctrl_c().await.ok();
    }
}

/// Ctrl-C and SIGTERM (what CI runners send when a job is cancelled) are
/// handled alike. The first raises `interrupt`: no new stack starts, no planned
/// change set is executed, and `running` says what happens to the rest. The
/// second stops at once, after `last_words` (journal, lock file).
pub(super) fn watch_interrupts(
    interrupt: crate::deploy::Interrupt,
    running: &'static str,
    last_words: impl FnOnce() + Send + 'static,
) {
    let mut signals = Signals::new();
    tokio::spawn(async move {
        signals.next().await;
        interrupt.raise();
        eprintln!(
            "Interrupt received: no new stack starts and no planned change set is executed; {running}. \
             Interrupt again to stop at once."
        );
        signals.next().await;
        last_words();
        eprintln!(
            "Two interrupts received: stopped without waiting. Operations already started go on in \
             CloudFormation; run `mailinfra status` to see where they are, and `mailinfra apply` once they settled."
        );
        std::process::exit(crate::exit::INTERRUPTED);
    });
}
