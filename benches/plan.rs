//! Plan of 200 unchanged stacks: CloudFormation API calls and wall time.
//!
//! A counting [`StackApi`] answers like CloudFormation does for stacks whose
//! deployed template equals the new one, with a fixed latency per call. The
//! target is at most 2 calls per unchanged stack (DescribeStacks + GetTemplate,
//! no change set). Run with `cargo bench --bench plan`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mailinfra::aws::{
    ChangeSetInfo, ChangeSetSummary, DriftStatus, EventPage, NewChangeSet, NoTemplateStore,
    ResourceDrift, StackApi, StackInfo, StackResource, StackStatus, StackSummary,
};
use mailinfra::build::{Artifact, StackEntry};
use mailinfra::deploy::{self, Keep, Options, Region, Timing};

const STACKS: usize = 200;
const LATENCY: Duration = Duration::from_millis(20);

#[derive(Default)]
struct Counting {
    calls: AtomicUsize,
    body: String,
}

impl Counting {
    async fn call(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(LATENCY).await;
    }
}

impl StackApi for Counting {
    async fn describe_stack(&self, stack: &str) -> anyhow::Result<Option<StackInfo>> {
        self.call().await;
        Ok(Some(StackInfo {
            arn: format!("arn:aws:cloudformation:us-east-1:1:stack/{stack}/1"),
            status: StackStatus::UpdateComplete,
            last_updated: Some("2026-01-01T00:00:00Z".into()),
            ..StackInfo::default()
        }))
    }
    async fn list_stacks(&self) -> anyhow::Result<Vec<StackSummary>> {
        self.call().await;
        Ok(Vec::new())
    }
    async fn get_template(&self, _stack: &str) -> anyhow::Result<Option<String>> {
        self.call().await;
        Ok(Some(self.body.clone()))
    }
    async fn create_change_set(&self, _req: NewChangeSet<'_>) -> anyhow::Result<String> {
        self.call().await;
        anyhow::bail!("an unchanged stack needs no change set")
    }
    async fn describe_change_set(&self, _arn: &str) -> anyhow::Result<ChangeSetInfo> {
        self.call().await;
        anyhow::bail!("unexpected")
    }
    async fn execute_change_set(&self, _arn: &str, _token: &str) -> anyhow::Result<()> {
        self.call().await;
        anyhow::bail!("unexpected")
    }
    async fn delete_change_set(&self, _arn: &str) -> anyhow::Result<()> {
        self.call().await;
        Ok(())
    }
    async fn list_change_sets(&self, _stack: &str) -> anyhow::Result<Vec<ChangeSetSummary>> {
        self.call().await;
        Ok(Vec::new())
    }
    async fn delete_stack(&self, _arn: &str, _token: &str) -> anyhow::Result<()> {
        self.call().await;
        anyhow::bail!("unexpected")
    }
    async fn stack_events(&self, _stack: &str, _next: Option<&str>) -> anyhow::Result<EventPage> {
        self.call().await;
        Ok(EventPage::default())
    }
    async fn change_set_failures(&self, _arn: &str) -> anyhow::Result<Vec<String>> {
        self.call().await;
        Ok(Vec::new())
    }
    async fn cancel_update_stack(&self, _s: &str, _t: &str) -> anyhow::Result<()> {
        self.call().await;
        Ok(())
    }
    async fn update_termination_protection(&self, _s: &str, _e: bool) -> anyhow::Result<()> {
        self.call().await;
        Ok(())
    }
    async fn continue_update_rollback(
        &self,
        _s: &str,
        _skip: &[String],
        _t: &str,
        _r: Option<&str>,
    ) -> anyhow::Result<()> {
        self.call().await;
        Ok(())
    }
    async fn stack_resources(&self, _stack: &str) -> anyhow::Result<Vec<StackResource>> {
        self.call().await;
        Ok(Vec::new())
    }
    async fn detect_drift(&self, _stack: &str) -> anyhow::Result<String> {
        self.call().await;
        Ok(String::new())
    }
    async fn drift_status(&self, _id: &str) -> anyhow::Result<DriftStatus> {
        self.call().await;
        anyhow::bail!("unexpected")
    }
    async fn resource_drifts(&self, _stack: &str) -> anyhow::Result<Vec<ResourceDrift>> {
        self.call().await;
        Ok(Vec::new())
    }
}

fn main() {
    let body = r#"{"Resources":{"Topic":{"Type":"AWS::SNS::Topic"}}}"#.to_string();
    let artifacts: Vec<Artifact> = (0..STACKS)
        .map(|i| Artifact {
            entry: StackEntry {
                name: format!("bench-{i:03}"),
                region: "us-east-1".into(),
                concern: "sending".into(),
                template: format!("bench-{i:03}.template.json"),
                sha256: String::new(),
                bytes: body.len(),
                resources: 1,
                // A chain every tenth stack, so the graph is not trivially flat.
                depends_on: if i % 10 == 0 || i == 0 {
                    Vec::new()
                } else {
                    vec![format!("bench-{:03}", i - 1)]
                },
                parameters: Vec::new(),
                outputs: 0,
                capabilities: Vec::new(),
                needs_upload: false,
            },
            body: body.clone(),
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for concurrency in [1, 4, 16] {
        let mut regions = BTreeMap::new();
        regions.insert(
            "us-east-1".to_string(),
            Region {
                api: Counting {
                    body: body.clone(),
                    ..Counting::default()
                },
                store: NoTemplateStore,
            },
        );
        let mut opts = Options::new(Keep::Nothing, Timing::default());
        opts.concurrency = concurrency;
        let start = Instant::now();
        let plans = runtime
            .block_on(deploy::plan_all(&regions, &artifacts, &opts))
            .expect("plan");
        let elapsed = start.elapsed();
        let calls = regions["us-east-1"].api.calls.load(Ordering::SeqCst);
        assert!(plans.iter().all(|p| !p.has_changes()));
        println!(
            "plan of {STACKS} unchanged stacks, concurrency {concurrency:>2}: {calls} CloudFormation calls ({:.2} per stack), {:.2?} wall time at {LATENCY:?} per call",
            calls as f64 / STACKS as f64,
            elapsed
        );
        assert!(calls <= 2 * STACKS, "more than 2 calls per unchanged stack");
    }
}
