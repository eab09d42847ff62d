//! Draws a deploy's progress events: a spinner per stack on a terminal, one
//! line per event otherwise; always on stderr, so stdout keeps the results.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;

use crate::deploy::Progress;

/// Draws progress: a spinner per stack on a terminal, one line per event otherwise; always on stderr.
pub(super) struct Reporter {
    bars: Option<(
        indicatif::MultiProgress,
        std::sync::Mutex<BTreeMap<String, indicatif::ProgressBar>>,
    )>,
}

impl Reporter {
    pub(super) fn new() -> Reporter {
        let tty = std::io::stderr().is_terminal();
        Reporter {
            bars: tty.then(|| (indicatif::MultiProgress::new(), Default::default())),
        }
    }

    pub(super) fn report(&self, p: Progress) {
        let line = match &p {
            Progress::StackStarted { stack, region, .. } => format!("{stack} ({region}): applying"),
            Progress::Event { stack, event } => {
                let reason = event
                    .reason
                    .as_ref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                format!(
                    "{stack}  {}  {}  {}{reason}",
                    event.logical_id, event.resource_type, event.status
                )
            }
            Progress::StackFinished { stack, status } => format!("{stack}: {status}"),
            Progress::Warning { stack, message } => format!("{stack}: warning: {message}"),
        };
        let Some((multi, bars)) = &self.bars else {
            eprintln!("{line}");
            return;
        };
        let Ok(mut bars) = bars.lock() else {
            eprintln!("{line}");
            return;
        };
        match p {
            Progress::StackStarted { stack, region, .. } => {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {prefix:.bold} [{elapsed}] {wide_msg}",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_prefix(format!("{stack} ({region})"));
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bars.insert(stack, bar);
            }
            Progress::Event { stack, event } => {
                let msg = format!("{} {}", event.logical_id, event.status);
                match bars.get(&stack) {
                    Some(bar) => {
                        // Failures stay on screen; the rest only updates the spinner.
                        if event.status.ends_with("_FAILED") {
                            bar.println(&line);
                        }
                        bar.set_message(msg);
                    }
                    None => multi.println(&line).unwrap_or_default(),
                }
            }
            Progress::StackFinished { stack, status } => match bars.remove(&stack) {
                Some(bar) => bar.finish_with_message(status),
                None => multi.println(&line).unwrap_or_default(),
            },
            Progress::Warning { .. } => multi.println(&line).unwrap_or_default(),
        }
    }
}
