//! Templates over CloudFormation's inline limit go to S3, under a
//! content-addressed key, with the bucket's owner checked on every request.

use std::future::Future;

use anyhow::{Context as _, anyhow};
use aws_sdk_cloudformation::error::ProvideErrorMetadata;

use super::error::sdk_causes;

use super::config::{Connection, WithRetryPolicy, sdk_config};

pub trait TemplateStore: Sync {
    /// Uploads `body` under a content-addressed key; returns its URL.
    fn put_template(&self, body: &str) -> impl Future<Output = anyhow::Result<String>> + Send;
}

/// The S3 key of a template: its SHA-256, so a concurrent plan cannot replace
/// the object a reviewed change set was made from.
pub fn template_key(body: &str) -> String {
    format!(
        "mailinfra/{}.json",
        crate::hash::sha256_hex(body.as_bytes())
    )
}

/// The bucket used when `--template-bucket` is not given.
pub fn default_template_bucket(account: &str, region: &str) -> String {
    format!("mailinfra-templates-{account}-{region}")
}

/// Templates uploaded to S3, with the bucket's owner checked on every request
/// (`ExpectedBucketOwner`): the default bucket name is predictable.
pub struct S3TemplateStore {
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    bucket: Option<String>,
    region: String,
    endpoint_url: Option<String>,
    account: tokio::sync::OnceCell<String>,
}

impl S3TemplateStore {
    pub async fn connect(c: &Connection, bucket: Option<String>) -> S3TemplateStore {
        let conf = sdk_config(c).await;
        let s3_conf = aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(c.endpoint_url.is_some())
            .with_retry_policy(c.retry_backoff)
            .build();
        let sts_conf = aws_sdk_sts::config::Builder::from(&conf)
            .with_retry_policy(c.retry_backoff)
            .build();
        S3TemplateStore {
            s3: aws_sdk_s3::Client::from_conf(s3_conf),
            sts: aws_sdk_sts::Client::from_conf(sts_conf),
            bucket,
            region: c.region.clone(),
            endpoint_url: c.endpoint_url.clone(),
            account: tokio::sync::OnceCell::new(),
        }
    }

    /// From clients built elsewhere (tests); `account` skips the STS call.
    pub fn from_clients(
        s3: aws_sdk_s3::Client,
        sts: aws_sdk_sts::Client,
        bucket: Option<String>,
        region: &str,
        account: Option<String>,
    ) -> S3TemplateStore {
        S3TemplateStore {
            s3,
            sts,
            bucket,
            region: region.to_string(),
            endpoint_url: None,
            account: tokio::sync::OnceCell::new_with(account),
        }
    }

    async fn account(&self) -> anyhow::Result<&str> {
        self.account
            .get_or_try_init(|| async {
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    anyhow!(
                        "cannot find the AWS account (needed to check who owns the template bucket): {}",
                        sdk_causes(&e)
                    )
                })?;
                out.account()
                    .map(str::to_string)
                    .context("GetCallerIdentity returned no account")
            })
            .await
            .map(String::as_str)
    }
}

impl TemplateStore for S3TemplateStore {
    async fn put_template(&self, body: &str) -> anyhow::Result<String> {
        let account = self.account().await?.to_string();
        let bucket = self
            .bucket
            .clone()
            .unwrap_or_else(|| default_template_bucket(&account, &self.region));
        let key = template_key(body);
        self.s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .expected_bucket_owner(&account)
            .content_type("application/json")
            .body(aws_sdk_s3::primitives::ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await
            .map_err(|e| {
                let code = e.as_service_error().and_then(|s| s.code()).unwrap_or("");
                if code == "NoSuchBucket" {
                    anyhow!(
                        "the template is over {} bytes and must be uploaded to S3, but bucket `{bucket}` does not exist: create it (`aws s3 mb s3://{bucket} --region {}`) or name one with `--template-bucket`",
                        crate::build::INLINE_TEMPLATE_LIMIT,
                        self.region
                    )
                } else {
                    anyhow!(
                        "cannot upload the template to `s3://{bucket}/{key}` (the bucket must belong to account {account}): {}",
                        sdk_causes(&e)
                    )
                }
            })?;
        Ok(match &self.endpoint_url {
            Some(e) => format!("{}/{bucket}/{key}", e.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/{key}", self.region),
        })
    }
}

/// For stacks whose templates all fit inline: uploading is an error.
pub struct NoTemplateStore;

impl TemplateStore for NoTemplateStore {
    async fn put_template(&self, _body: &str) -> anyhow::Result<String> {
        anyhow::bail!("no template bucket is configured for templates over the inline limit")
    }
}
