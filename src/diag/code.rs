//! The code table: every diagnostic code mailinfra can emit, with its default
//! severity, a one-line title, the explanation behind `mailinfra explain`, and
//! the input that shows it is emitted.
//!
//! Codes are grouped by stage — `MI1xxx` load and schema, `MI2xxx` references,
//! `MI3xxx` semantics, `MI4xxx` lints, `MI5xxx` live checks of deployed stacks —
//! and are never reused: a code that is dropped moves to [`RETIRED`]. The
//! [`Code`] enum is the only way to name a code when building a
//! [`Diagnostic`](super::Diagnostic), so a diagnostic cannot carry a code that
//! is not in this table. `docs/diagnostic-codes.md` and `mailinfra explain` are
//! generated from it (see `crate::codes`).

use super::Severity;

/// What shows that a code is really emitted (checked by a test in `crate::codes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Witness {
    /// An invalid fixture (`tests/fixtures/invalid/*.yaml`) whose expected
    /// diagnostics (`snapshots/diagnostics/*.json.snap`) contain the code.
    Fixture,
    /// The named test produces the code and checks it: for codes that no spec
    /// file alone can produce (unreadable files, limits found while building,
    /// live checks against AWS).
    Test(&'static str),
}

/// One row of the table.
#[derive(Debug)]
pub struct Info {
    pub code: Code,
    pub severity: Severity,
    pub title: &'static str,
    pub explain: &'static str,
    pub witness: Witness,
}

/// Codes that were documented once and are no longer (never emitted); they
/// are not reused. Listed in the generated doc; the tests keep them out of the
/// table.
#[cfg(test)]
pub(crate) const RETIRED: &[&str] = &["MI3009", "MI3010", "MI3011", "MI3012", "MI3013"];

macro_rules! codes {
    ($(
        $code:ident {
            severity: $severity:ident,
            title: $title:literal,
            witness: $witness:expr,
            explain: $explain:literal $(,)?
        }
    )*) => {
        /// A diagnostic code. Variants are declared in code order, so the
        /// derived order is the order of the code strings.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($code,)*
        }

        /// Every code, in code order (`CODES[c as usize].code == c`).
        pub(crate) const CODES: &[Info] = {
            use Witness::{Fixture, Test};
            &[$(Info {
                code: Code::$code,
                severity: Severity::$severity,
                title: $title,
                explain: $explain,
                witness: $witness,
            },)*]
        };

        impl Code {
            /// The code as written: `MI1101`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$code => stringify!($code),)*
                }
            }
        }
    };
}

impl Code {
    /// The code's row in the table.
    pub(crate) fn info(self) -> &'static Info {
        &CODES[self as usize]
    }

    /// The severity a diagnostic with this code has unless the user changes it.
    pub(crate) fn severity(self) -> Severity {
        self.info().severity
    }

    /// The code written as `text` (case-insensitive), if there is one.
    pub(crate) fn parse(text: &str) -> Option<Code> {
        CODES
            .iter()
            .map(|i| i.code)
            .find(|c| c.as_str().eq_ignore_ascii_case(text))
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A code compares equal to its text, so `d.code == "MI1101"` reads as written.
impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

codes! {
    MI1001 {
        severity: Error,
        title: "spec file cannot be read",
        witness: Test("files_that_are_not_specs"),
        explain: "The spec path does not exist, is a directory, a FIFO or device, or cannot be read. Pass the spec file with `-f FILE`; it must be a regular file.",
    }
    MI1002 {
        severity: Error,
        title: "spec file too large",
        witness: Test("files_that_are_not_specs"),
        explain: "Specs are capped at 10 MiB so that a wrong path (a log, a disk image) fails fast. Large tenant lists fit easily under the cap with the compact forms.",
    }
    MI1003 {
        severity: Error,
        title: "spec file is not UTF-8 text",
        witness: Test("encodings_and_odd_bytes"),
        explain: "The file holds invalid UTF-8, a NUL byte, or is UTF-16. The message gives the byte offset. Save the file as UTF-8; a UTF-8 byte-order mark and CRLF line ends are accepted.",
    }
    MI1004 {
        severity: Error,
        title: "invalid YAML",
        witness: Fixture,
        explain: "The YAML parser stopped here. Common causes: tabs used for indentation (YAML allows spaces only), an unclosed quote or bracket, a `key: value` at the wrong indentation.",
    }
    MI1005 {
        severity: Error,
        title: "empty spec",
        witness: Fixture,
        explain: "The file holds no document. Start from a blueprint with `mailinfra init --blueprint NAME`.",
    }
    MI1006 {
        severity: Error,
        title: "several YAML documents",
        witness: Fixture,
        explain: "A spec is exactly one YAML document. A second `---` starts another document; remove it or merge the documents.",
    }
    MI1007 {
        severity: Error,
        title: "document root is not a mapping",
        witness: Fixture,
        explain: "The top level of a spec is a mapping of keys such as `version`, `project` and `regions`.",
    }
    MI1008 {
        severity: Error,
        title: "duplicate key",
        witness: Fixture,
        explain: "A key appears twice in one mapping. YAML parsers disagree on which value wins, so mailinfra rejects it; both places are named.",
    }
    MI1009 {
        severity: Error,
        title: "document too large",
        witness: Fixture,
        explain: "The document holds, or its YAML anchors and aliases expand to (a \"billion laughs\" document), more than 250,000 nodes, a mapping counting as 8: the bound that keeps loading any spec within 100 MB. A spec of 10,000 domains each with its own settings counts about 240,000; list domains that share settings in a group (`identities: { NAME: { domains: [...] } }`, one node per domain), or write the values out instead of nesting aliases.",
    }
    MI1010 {
        severity: Error,
        title: "nesting too deep",
        witness: Fixture,
        explain: "The document nests deeper than any valid spec. Check the indentation or brackets at the position given.",
    }
    MI1011 {
        severity: Error,
        title: "complex mapping key",
        witness: Fixture,
        explain: "Mapping keys are plain names or domains; a list or mapping cannot be a key.",
    }
    MI1012 {
        severity: Error,
        title: "unsupported YAML tag",
        witness: Fixture,
        explain: "Local YAML tags such as CloudFormation's `!Ref` or `!GetAtt` are not part of the spec language. Where raw CloudFormation is allowed (overrides), write the long form: `{ Ref: Name }`, `{ \"Fn::GetAtt\": [Name, Attr] }`.",
    }
    MI1013 {
        severity: Warning,
        title: "allow comment cannot apply",
        witness: Fixture,
        explain: "A `# mailinfra: allow CODE` comment names a code that does not exist, or an error (only warnings and infos can be silenced). The comment silences the named codes on its own line and in the node whose key is on that line (with everything nested in it); on a line by itself it applies to the next line that holds content. Example: `example.com:  # mailinfra: allow MI4001, MI4002`.",
    }
    MI1101 {
        severity: Error,
        title: "unknown key",
        witness: Fixture,
        explain: "The key is not part of the spec at this place. The help names the nearest valid key; `mailinfra schema` prints every key, and an editor with the schema modeline completes them.",
    }
    MI1102 {
        severity: Error,
        title: "wrong type",
        witness: Fixture,
        explain: "The value has the wrong type, e.g. a number where a string is expected. YAML reads `0755`, `1.10` and `true` as numbers and booleans: quote them to keep them strings.",
    }
    MI1103 {
        severity: Error,
        title: "missing required key",
        witness: Fixture,
        explain: "A required key is missing from this mapping.",
    }
    MI1104 {
        severity: Error,
        title: "value not allowed",
        witness: Fixture,
        explain: "The value is not one of the allowed values; the help lists them.",
    }
    MI1105 {
        severity: Error,
        title: "value does not match its format",
        witness: Fixture,
        explain: "The value breaks the pattern or length the field requires, usually because CloudFormation or SES would reject it at deploy time.",
    }
    MI1106 {
        severity: Error,
        title: "value out of range",
        witness: Fixture,
        explain: "A number or a list size is outside its allowed range; the help gives the limit.",
    }
    MI1107 {
        severity: Error,
        title: "schema violation",
        witness: Fixture,
        explain: "The value does not fit the schema, or the spec types, at this place. `mailinfra schema` prints the schema. A common cause is a whole number written with a decimal point, such as `ttl: 300.0`: write `300`.",
    }
    MI2001 {
        severity: Error,
        title: "unknown reference",
        witness: Fixture,
        explain: "A name refers to something the spec does not declare. Declare it, or fix the name; the help names the nearest declared one.",
    }
    MI2002 {
        severity: Error,
        title: "names collide as logical ids",
        witness: Fixture,
        explain: "Two names become the same CloudFormation logical id once reduced to letters and digits (`mail.example.com` and `mail-example.com` both become `MailExampleCom`). Logical ids are the identity of deployed resources, so mailinfra never adds a silent suffix: rename one of them.",
    }
    MI3001 {
        severity: Error,
        title: "unknown region",
        witness: Fixture,
        explain: "The region is not an AWS region CloudFormation knows, e.g. a typo such as `us-east-7` or `eu_west_1`.",
    }
    MI3002 {
        severity: Error,
        title: "domain outside every declared zone",
        witness: Fixture,
        explain: "Every DNS name the topology needs (an identity, its MAIL FROM domain, its `_dmarc` record) must lie in a zone under `dns:`, either a Route 53 hosted zone (records are deployed) or an `external` zone (records are listed by `mailinfra dns` for you to publish).",
    }
    MI3003 {
        severity: Error,
        title: "invalid domain name",
        witness: Fixture,
        explain: "Domain names are lowercase LDH labels of at most 63 characters, at most 253 characters in all, with at least two labels. Internationalised names are written as A-labels (`xn--…`).",
    }
    MI3004 {
        severity: Error,
        title: "MAIL FROM domain is not a subdomain of its identity",
        witness: Fixture,
        explain: "SES requires the custom MAIL FROM domain to be a subdomain of the identity's domain, and it must not be used to receive mail.",
    }
    MI3005 {
        severity: Error,
        title: "invalid DMARC report address",
        witness: Fixture,
        explain: "DMARC report addresses are `mailto:` URIs of an email address (by the rule MI3314 explains), e.g. `mailto:dmarc@example.com`.",
    }
    MI3006 {
        severity: Error,
        title: "invalid tag",
        witness: Fixture,
        explain: "Tag keys are 1–128 characters, values at most 256, keys must not start with `aws:`, and Mail Manager resources accept only letters, digits and `/_+=.:@-` in tag values (no spaces).",
    }
    MI3007 {
        severity: Error,
        title: "ARN in another partition",
        witness: Fixture,
        explain: "An ARN names a partition (`aws`, `aws-cn`, `aws-us-gov`, `aws-eusc`) other than the one of the region it is used in. Resources cannot refer across partitions: use a resource in the same partition.",
    }
    MI3008 {
        severity: Error,
        title: "name breaks a CloudFormation name rule",
        witness: Fixture,
        explain: "The name becomes part of a physical resource name (e.g. `ArchiveName` is `<project>-<name>`, at most 64 characters of letters, digits, `_` and `-`, starting and ending with a letter or digit). CloudFormation would reject it at deploy time; rename it.",
    }
    MI3101 {
        severity: Error,
        title: "secondary region is the primary",
        witness: Fixture,
        explain: "`regions.secondary` names the primary region. A secondary region is a second, different sending region; remove it for a single-region setup.",
    }
    MI3102 {
        severity: Error,
        title: "global endpoint cannot be created",
        witness: Fixture,
        explain: "An SES global endpoint (multi-region endpoint) routes between the primary and the secondary region, so it needs `regions.secondary`, and it exists only in the regions where `AWS::SES::MultiRegionEndpoint` is available. Any change to the endpoint replaces it.",
    }
    MI3103 {
        severity: Error,
        title: "setting does not apply to an email address",
        witness: Fixture,
        explain: "An email address identity has no DKIM, custom MAIL FROM or DMARC of its own: those belong to its domain. Declare the domain as an identity and set them there.",
    }
    MI3104 {
        severity: Error,
        title: "inline secret",
        witness: Fixture,
        explain: "A BYODKIM private key (or any secret) is written in the spec. Secrets never go into the spec or the templates: store it in AWS Secrets Manager and write `{ secret: NAME_OR_ARN, json_key: FIELD }`; the template resolves it with a dynamic reference at deploy time.",
    }
    MI3105 {
        severity: Error,
        title: "incomplete BYODKIM",
        witness: Fixture,
        explain: "`dkim: byodkim` needs `byodkim: { selector, private_key, public_key }`; the selector must form a valid DNS name `<selector>._domainkey.<domain>`.",
    }
    MI3106 {
        severity: Error,
        title: "BYODKIM identity as DEED parent",
        witness: Fixture,
        explain: "Deterministic Easy DKIM replicates Easy DKIM keys only. A BYODKIM identity is created in the secondary region with the same key instead; remove `replication: deed`.",
    }
    MI3107 {
        severity: Error,
        title: "sending role without principal or identities",
        witness: Fixture,
        explain: "A sending role is trusted by exactly one service (`ec2`, `lambda`, `ecs_tasks`) or one account, and may send as the declared identities (all by default, a list, or `\"*\"` written explicitly).",
    }
    MI3108 {
        severity: Error,
        title: "invalid resource name",
        witness: Fixture,
        explain: "Configuration set, template and role names become `<project>-<name>`: letters, digits, `-` and `_`, at most 64 characters.",
    }
    MI3109 {
        severity: Error,
        title: "event destination needs one target",
        witness: Fixture,
        explain: "Each event destination sends to exactly one of SNS, EventBridge, Kinesis Firehose or CloudWatch. Declare one destination per target.",
    }
    MI3110 {
        severity: Error,
        title: "DNS record clash",
        witness: Fixture,
        explain: "Route 53 holds one record set per name and type. MX records for one name are merged; two TXT or CNAME records with one name (e.g. a MAIL FROM domain that is also a BYODKIM name) are rejected rather than silently duplicated.",
    }
    MI3111 {
        severity: Error,
        title: "override of an unknown resource",
        witness: Fixture,
        explain: "`overrides` are keyed by the logical id of a generated resource; `mailinfra build` writes the templates with every logical id.",
    }
    MI3112 {
        severity: Error,
        title: "override of an unknown property",
        witness: Fixture,
        explain: "An override names a property the resource type does not have in the official CloudFormation schema. The nearest property name is suggested.",
    }
    MI3113 {
        severity: Error,
        title: "stack too large",
        witness: Test("a_shared_part_beyond_the_limits_is_an_error_naming_the_stack"),
        explain: "A CloudFormation stack holds at most 500 resources, 200 outputs, 200 parameters, 60 dynamic references and 1,000,000 template bytes. `build` splits each region's sending side into shards that stay within 80 % of every limit (see \"Stacks and placement\" in the README), so this error means something that cannot be split is too large: the shared resources of a region (configuration sets, templates, roles, the global endpoint; a role listing thousands of identities is the usual cause: scope it with `identities: \"*\"` or a shorter list), or a shard whose elements grew past the headroom since they were placed (move one element to another stack by editing `mailinfra.lock`; moving replaces its resources).",
    }
    MI3114 {
        severity: Error,
        title: "IAM policy beyond IAM's limits",
        witness: Test("a_role_beyond_iam_limits_fails_validation_naming_it"),
        explain: "IAM holds at most 10,240 characters of inline policy per role, 10 managed policies of 6,144 characters each attached to it (the default quota), and a trust policy of 2,048 characters; it counts the policy without white space. A generated role whose policy outgrows its inline policy goes on in managed policies (`Policy1<RoleId>`, …); one whose policy is larger than a role holds is this error. A sending role or a `send_to_internet` role names every identity of its scope in every region, each with its configuration sets (and templates for templated sending): scope it with `identities: \"*\"` (any identity of the account: the wildcard is then yours, written in the spec) or list fewer identities. A trust policy grows with `principals`: list fewer, or trust an `organization`. mailinfra measures conservatively (the longest partition, region and account id a reference can resolve to), so a policy it accepts fits in every region.",
    }
    MI3115 {
        severity: Error,
        title: "sending action without identities",
        witness: Fixture,
        explain: "SES sends what a Mail Manager `send_to_internet` action forwards as one of the account's verified identities, and the generated role may send as exactly the identities the spec names: the action's `identities` (default: every declared identity). With none declared and none listed the role could send as nothing. Declare the identities the forwarded mail comes from under `identities:`, list them in `send_to_internet: { identities: [...] }`, write `identities: \"*\"` for any identity of the account, or give an existing role with `role:`.",
    }
    MI3116 {
        severity: Error,
        title: "trust condition does not apply",
        witness: Fixture,
        explain: "`external_id`, `principals` and `organization` narrow an account trust (`trust: { account }`): they become the trust policy's conditions on `sts:ExternalId`, `aws:PrincipalArn` and `aws:PrincipalOrgID`. A service (`ec2`, `lambda`, `ecs_tasks`) is not asked for them, and a principal ARN of another account than the trusted one never matches, so the role could never be assumed that way.",
    }
    MI3300 {
        severity: Error,
        title: "region listed twice",
        witness: Fixture,
        explain: "Each region appears once in `mail_manager.regions`.",
    }
    MI3301 {
        severity: Error,
        title: "service not available in the region",
        witness: Fixture,
        explain: "The CloudFormation resource types for this part of SES do not exist in the region (from the official resource schemas, `src/data/cfn.json`). Mail Manager and classic receiving exist in fewer regions than sending: choose another region with `mail_manager.regions` or `receiving.region`.",
    }
    MI3302 {
        severity: Error,
        title: "invalid Mail Manager name",
        witness: Fixture,
        explain: "Mail Manager resources are named `<project>-<name>`. Names use letters, digits, `_` and `-`; traffic policies and ingress endpoints allow at most 63 characters in all, relays and rule sets 100.",
    }
    MI3303 {
        severity: Error,
        title: "incomplete relay",
        witness: Fixture,
        explain: "A relay needs a host: give `host` (and `port`, default 25), or a preset. `preset: microsoft_365` needs `tenant` (the mailbox domain, e.g. `nutrition.co`, which becomes `nutrition-co.mail.protection.outlook.com`); `tenant` is only used by that preset.",
    }
    MI3304 {
        severity: Error,
        title: "invalid string test",
        witness: Fixture,
        explain: "A string test has exactly one operator (`equals`, `not_equals`, `starts_with`, `ends_with`, `contains`) with one value or a list; rule conditions take at most 10 values.",
    }
    MI3305 {
        severity: Error,
        title: "invalid CIDR range",
        witness: Fixture,
        explain: "IP tests take 1 to 10 CIDR ranges (`203.0.113.0/24`, `2001:db8::/32`). A range is `ADDRESS/PREFIX`: the prefix is required (`/32` or `/128` for one address) and at most 32 (IPv4) or 128 (IPv6), neither IPv4 octets nor the prefix have leading zeros, and the host bits are zero: `10.0.0.1/24` is rejected, with the range it names (`10.0.0.0/24`) or the one address (`10.0.0.1/32`) as the fix. In traffic policies IPv4 ranges go under `sender_ip` and IPv6 ranges under `sender_ipv6`.",
    }
    MI3306 {
        severity: Error,
        title: "invalid add-on or address list test",
        witness: Fixture,
        explain: "An analysis test names an add-on under `mail_manager.addons`, a result `field`, and exactly one test: `is`, a string operator, or (rules only) `verdict`/`not_verdict`. Traffic policies can look up only the recipient in an address list.",
    }
    MI3307 {
        severity: Error,
        title: "invalid TLS test",
        witness: Fixture,
        explain: "A TLS test has exactly one of `min`, `is` or `below` (versions \"1.2\" and \"1.3\"). Mail Manager cannot test \"below\" directly: mailinfra compiles `- deny: [ { tls: { below: V } } ]` into a policy whose later statements and default allow only TLS V or newer, so it must be the only condition of a `deny` statement.",
    }
    MI3308 {
        severity: Error,
        title: "invalid size",
        witness: Fixture,
        explain: "Sizes are bytes or a number with a unit: B, KB, MB, GB (powers of 1000), KiB, MiB, GiB (powers of 1024), from 1 byte to 1,000,000 GB. A size test has exactly one operator.",
    }
    MI3309 {
        severity: Error,
        title: "invalid traffic policy",
        witness: Fixture,
        explain: "Every statement needs at least one condition, and a policy that denies by default needs an `allow` statement, or it refuses all mail.",
    }
    MI3310 {
        severity: Error,
        title: "empty rule set",
        witness: Fixture,
        explain: "A rule set needs at least one rule.",
    }
    MI3311 {
        severity: Error,
        title: "invalid rule name",
        witness: Fixture,
        explain: "Mail Manager rule names are 1 to 32 letters, digits, `_`, `.` and `-`, unique within their rule set.",
    }
    MI3312 {
        severity: Error,
        title: "too many conditions or actions",
        witness: Fixture,
        explain: "A Mail Manager rule has 1 to 10 actions, at most 10 `when` and 10 `unless` conditions; a receipt rule has at least one action.",
    }
    MI3313 {
        severity: Error,
        title: "invalid added header",
        witness: Fixture,
        explain: "Mail Manager adds only headers named `X-` followed by letters, digits and `-` (at most 64 characters), with a value of 1 to 128 characters.",
    }
    MI3314 {
        severity: Error,
        title: "invalid email address",
        witness: Fixture,
        explain: "Email addresses (identities written as an address, receipt rule recipients, replacement recipients, bounce senders) are `local@domain` with an unquoted ASCII local part of at most 64 characters (`+` tags are fine; no leading, trailing or doubled dot), a valid domain, and at most 254 characters in all. Quoted local parts are valid email but SES and Mail Manager do not accept them. `replace_recipients` takes 1 to 100 addresses.",
    }
    MI3315 {
        severity: Error,
        title: "action does nothing",
        witness: Fixture,
        explain: "`drop: false` is not an action: remove it or write `drop: true`.",
    }
    MI3316 {
        severity: Error,
        title: "ingress authentication mismatch",
        witness: Fixture,
        explain: "`auth` endpoints need `password` (`generate` or `{ secret: ARN }`; plain passwords are never accepted), `mtls` endpoints need `trust_store`, and other types take neither.",
    }
    MI3317 {
        severity: Error,
        title: "MAIL FROM domain receives mail",
        witness: Fixture,
        explain: "A custom MAIL FROM domain's MX points at SES feedback; it cannot also be an inbound mail domain.",
    }
    MI3318 {
        severity: Error,
        title: "MX for a VPC ingress",
        witness: Fixture,
        explain: "An ingress endpoint reached through a VPC endpoint cannot receive internet mail, so publishing MX records for it breaks delivery.",
    }
    MI3319 {
        severity: Error,
        title: "several active receipt rule sets",
        witness: Fixture,
        explain: "SES has one active receipt rule set per region and account; mailinfra activates the one marked `active` (the only one, by default).",
    }
    MI3320 {
        severity: Error,
        title: "invalid bucket or topic name",
        witness: Fixture,
        explain: "Receiving buckets are named `<project>-<name>-<account>-<region>` and must fit S3's 63 characters of lowercase letters, digits and `-`; topics are named `<project>-<name>`.",
    }
    MI3321 {
        severity: Error,
        title: "invalid receipt rule name",
        witness: Fixture,
        explain: "Receipt rule and rule set names use letters, digits, `_`, `.` and `-`, start and end with a letter or digit, are at most 64 characters, and are unique within their rule set.",
    }
    MI3322 {
        severity: Error,
        title: "rule set replaces nothing it can",
        witness: Fixture,
        explain: "`replaces` names the receipt rule set, made outside the spec, that is active in the region today: activating this rule set takes over from it, and removing this rule set makes it active again. Only the active rule set (`active: true`, or the only one) can replace another, and never itself (`<project>-<name>`). Without `replaces`, activation fails while another rule set is active, so mail is never silently routed away from a rule set someone else set up.",
    }
    MI3324 {
        severity: Error,
        title: "unusable secret reference",
        witness: Fixture,
        explain: "A field that names a Secrets Manager secret (`byodkim.private_key.secret` and `json_key`, an ingress `password.secret`, a relay `secret`) holds something Secrets Manager or CloudFormation cannot use. A secret name is 1 to 512 ASCII letters, digits and `/_+=.@-`; an ARN is `arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf` (Secrets Manager adds the hyphen and six characters; Mail Manager takes ARNs only); a JSON key is letters, digits and `_-.+=@/` (a `:` or `}}` would change the dynamic reference `{{resolve:secretsmanager:…}}` the template resolves it with). The diagnostic does not repeat the value, which may be a secret pasted by mistake.",
    }
    MI3325 {
        severity: Error,
        title: "trust store is not PEM certificates",
        witness: Fixture,
        explain: "An `mtls` ingress trust store's `ca` holds PEM `CERTIFICATE` blocks only, and its `crl` PEM `X509 CRL` blocks only, with nothing but blank lines between them. The trust store is copied into the template, so anything else in it would be deployed as is. (A private key block is MI3104.)",
    }
    MI3326 {
        severity: Error,
        title: "MX preference does not match the regions",
        witness: Fixture,
        explain: "An ingress endpoint's `mx_priority` is one number (the endpoint in the first region of `mail_manager.regions`; each following region's endpoint gets 10 more, so senders try the regions in order) or a mapping with a number for exactly the regions of `mail_manager.regions`. Every domain in `mx` gets one MX record set holding every region's endpoint at its preference; MX preferences are 0 to 65535.",
    }
    MI3327 {
        severity: Error,
        title: "secondary MAIL FROM domain",
        witness: Fixture,
        explain: "With two sending regions an identity uses a MAIL FROM domain of its own in each: SES reads one MX value for a MAIL FROM domain, `feedback-smtp.<region>.amazonses.com` of the region the identity sends from, and receivers return bounces to it, so one domain shared by two regions would send half the bounces to the region that never sent the mail. `mail_from: { domain, secondary }` names the secondary region's domain (default `<secondary region>.<domain>`); it must differ from `domain`, be a subdomain of the identity, and is meaningful only with `regions.secondary`.",
    }
    MI3328 {
        severity: Error,
        title: "DMARC policy no message can pass",
        witness: Test("no_dkim_and_no_aligned_spf_under_quarantine_is_an_error"),
        explain: "DMARC passes only when DKIM or SPF passes aligned with the From domain. With `dkim: none` there is no DKIM signature, and SPF aligns only through a custom MAIL FROM subdomain under relaxed SPF alignment (SES's default MAIL FROM belongs to `amazonses.com`). Without either, every message fails DMARC, and a `quarantine` or `reject` policy (the domain's own `p=`, or its parent's `sp=`) sends all of them to spam or bounces them. Sign with DKIM, add a `mail_from` subdomain with relaxed alignment, or publish `policy: none`.",
    }
    MI4001 {
        severity: Warning,
        title: "open relay path (EchoSpoofing)",
        witness: Fixture,
        explain: "Found by tracing messages, not by the shape of the spec: some sender on the internet, from an address no traffic policy or rule names, over any TLS and with any headers, can get a message for an address outside your domains (the spec's identities, zones and MX domains) relayed or sent to the internet through an open ingress endpoint. Mail sent onward carries the trust of Mail Manager's IPs, and SES signs what it sends as your domains, so downstream systems accept the forgery (EchoSpoofing). The message names such a message, and the help the `mailinfra trace` command that shows its path. A TLS requirement, a `deny` of some sender IPs or a header check does not close it (the sender picks its address, TLS and headers); allow-listing the sending systems' IP ranges (`default: deny` plus `allow: [ { sender_ip: [...] } ]`), accepting only your own domains as recipients, or an `auth`/`mtls` endpoint does. Conditions mailinfra cannot evaluate offline (address list members) are not assumed to let the message through.",
    }
    MI4002 {
        severity: Warning,
        title: "old TLS accepted",
        witness: Fixture,
        explain: "The ingress endpoint's traffic policy has no TLS test, so connections with TLS 1.0/1.1 (or no TLS) are accepted. Add `- deny: [ { tls: { below: \"1.2\" } } ]` as the first statement.",
    }
    MI4003 {
        severity: Warning,
        title: "open ingress accepts any recipient",
        witness: Fixture,
        explain: "An open endpoint that allows by default and never tests the recipient accepts (and bills) mail for any domain. Deny by default and allow your own domains or an address list.",
    }
    MI4004 {
        severity: Warning,
        title: "relay to a mailbox provider replaces MAIL FROM",
        witness: Fixture,
        explain: "Google Workspace and Microsoft 365 evaluate SPF against the envelope sender. With the MAIL FROM replaced by Mail Manager's, mail fails SPF or loses the original sender; use `mail_from: preserve` and allow-list Mail Manager's IPs at the provider.",
    }
    MI4005 {
        severity: Info,
        title: "archive without customer managed key",
        witness: Fixture,
        explain: "The archive is encrypted with an AWS-owned key. A customer managed KMS key lets you control and audit access; decide early, because changing the key replaces the archive.",
    }
    MI4006 {
        severity: Warning,
        title: "account trust without conditions",
        witness: Fixture,
        explain: "A role trusted by another account (`arn:…:iam::<account>:root`) with no condition can be assumed by every principal of that account that its own policies allow `sts:AssumeRole`; when the account is a service provider acting for several customers, any of them can make it act on your role (the confused deputy). Narrow the trust: `external_id` (the ID the provider gives you, passed on every `sts:AssumeRole`), `principals` (the roles or users of that account that may assume it) or `organization` (an AWS Organizations id). Silence the warning with `# mailinfra: allow MI4006` when the other account is your own and trusted as a whole.",
    }
    MI4008 {
        severity: Warning,
        title: "KMS key policy must let SES use the key",
        witness: Fixture,
        explain: "A KMS key of yours encrypts something SES uses: a generated ingress password (`password: { generate: { kms_key } }`), an archive, a trust store, mail stored by an S3 action, or a receiving bucket SES or a Mail Manager role writes to. SES can use the key only if its key policy allows it, which mailinfra cannot see offline; the help names the statement AWS documents for that use. `mailinfra check --live` reads the key policy (`kms:GetKeyPolicy`) and reports MI5007 when it does not allow SES. The AWS managed key `alias/aws/ses` needs nothing. Silence the warning with `# mailinfra: allow MI4008` once the policy is in place.",
    }
    MI4009 {
        severity: Warning,
        title: "secret must let SES read it",
        witness: Fixture,
        explain: "An ingress password secret or relay credentials secret of yours must let SES read it: a resource policy allowing `ses.amazonaws.com` `secretsmanager:GetSecretValue` (and `DescribeSecret` for relays) for this account's Mail Manager resources, and, for ingress endpoints, encryption with a customer managed key (not `aws/secretsmanager`) whose policy allows SES `kms:Decrypt` through Secrets Manager. mailinfra cannot read either policy. `password: generate` creates a secret, a key and both policies for you.",
    }
    MI4010 {
        severity: Warning,
        title: "SES may not be allowed to write received mail",
        witness: Fixture,
        explain: "A receipt rule's `s3` action writes as the SES service principal: the bucket policy must allow `ses.amazonaws.com` to `s3:PutObject` (scoped by `aws:SourceAccount` and the rule's `aws:SourceArn`). mailinfra writes that bucket policy for the buckets under `receiving.buckets` only; for any other bucket the warning prints the statement to add. Until SES may write, `CreateReceiptRule` fails with `InvalidS3ConfigurationException` and the stack rolls back. A customer managed KMS key (the action's `kms_key`, or the bucket's default encryption key) must allow SES too: that is MI4008. Mail Manager's `write_to_s3` writes with its IAM role instead, which the generated role is granted.",
    }
    MI4011 {
        severity: Warning,
        title: "documentation placeholder left in the spec",
        witness: Fixture,
        explain: "A value is one that documentation uses and nobody owns: a domain under `example.com`, `example.net`, `example.org` or the `example` TLD (reserved for documentation by RFC 2606 and RFC 6761), also in an address or a `mailto:` URI; the hosted zone id `Z0123456789ABCDEFGHIJ`; or the AWS documentation account `123456789012`, alone or in an ARN. Left in a spec it deploys identities nobody can verify, records into no zone of yours, or trust in an account that is not yours. Replace it with your own value. The names RFC 2606 reserves for testing (`.test`, `.invalid`, `.localhost`) are not reported: use them for specs that are only examples or tests, or silence the warning with `# mailinfra: allow MI4011`.",
    }
    MI4012 {
        severity: Info,
        title: "MX gateway: the server behind it must trust only Mail Manager",
        witness: Fixture,
        explain: "An open ingress endpoint relays mail for your own domains to your mailbox provider or mail server: the job of an MX gateway, not an open relay. The EchoSpoofing guidance then concerns the downstream side: it must accept mail for your domains only from Mail Manager (Google Workspace: the Inbound gateway setting with Mail Manager's addresses, `Reject all mail not from gateway IPs` and `Require TLS`; Microsoft 365: an inbound partner connector restricted to Mail Manager's addresses, with Enhanced Filtering for Connectors; any other server: SMTP from Mail Manager's addresses only), or anyone can skip the gateway; and where mail comes from a platform whose senders share IPs, the rule should check its originator header (`X-MS-Exchange-CrossTenant-Id` for Microsoft 365). Silence it with `# mailinfra: allow MI4012` once that is in place.",
    }
    MI4013 {
        severity: Warning,
        title: "rule can never apply",
        witness: Fixture,
        explain: "No message meets the rule's conditions: they contradict each other (`spf: pass` and `spf: fail`, a condition also listed under `unless`), or no message the traffic policy of the ingress endpoints using the rule set accepts can meet them (a rule for mail without TLS behind a policy that requires TLS 1.2). Found by tracing the messages the conditions tell apart; rules whose conditions name too many values to try them all are not judged.",
    }
    MI4014 {
        severity: Warning,
        title: "rule shadowed by an earlier drop",
        witness: Fixture,
        explain: "An earlier rule drops the message (`drop` ends the evaluation of the rule set for that recipient) whenever this rule's conditions hold, so this rule never runs. Move it before the dropping rule, or narrow the dropping rule's conditions. Found by tracing the messages both rules' conditions tell apart.",
    }
    MI4015 {
        severity: Warning,
        title: "traffic policy lets nothing in",
        witness: Fixture,
        explain: "Every message is refused: Mail Manager evaluates the `deny` statements first, then the `allow` statements, then the default action, and for every message a `deny` statement or the default refuses it (for instance `default: deny` with no `allow` statement, or a `deny` whose conditions every message meets). An ingress endpoint with this policy receives nothing.",
    }
    MI4020 {
        severity: Warning,
        title: "sending domain without DKIM, MAIL FROM or DMARC",
        witness: Test("one_warning_names_every_missing_part"),
        explain: "Gmail and Yahoo require bulk senders to authenticate with SPF and DKIM and to publish DMARC, and every mailbox provider weighs them. A domain identity without DKIM (`dkim: none`), without a custom MAIL FROM domain (so SPF passes for `amazonses.com`, never aligned with the From domain) or without a DMARC record (its own or a parent identity's) is named with what is missing. When the records are published outside mailinfra, silence it with `# mailinfra: allow MI4020`.",
    }
    MI4021 {
        severity: Warning,
        title: "strict SPF alignment with a MAIL FROM subdomain",
        witness: Test("strict_spf_alignment_with_a_mail_from_subdomain_never_aligns"),
        explain: "A custom MAIL FROM domain is always a subdomain of the identity, and strict SPF alignment (`spf_alignment: strict`, `aspf=s`) wants the MAIL FROM domain to be the From domain itself, so SPF never aligns and DMARC rests on DKIM alone. Leave `spf_alignment` out (relaxed).",
    }
    MI4022 {
        severity: Warning,
        title: "DMARC reports to a domain that must authorise them",
        witness: Test("reports_to_another_domain_need_its_authorisation"),
        explain: "A receiver sends DMARC reports (`rua`, `ruf`) for `example.com` to an address at another organisation's domain only when that domain publishes TXT `example.com._report._dmarc.<domain>` with `v=DMARC1` (RFC 7489 section 7.1); otherwise the reports are silently dropped. When the report domain is a zone of the spec, mailinfra publishes the record (Route 53) or lists it (`external`); for any other domain it cannot, so this warns. Report services usually publish a wildcard record: check that the name resolves, or declare the domain under `dns:`.",
    }
    MI5001 {
        severity: Warning,
        title: "deployed resource drifted",
        witness: Test("drift_is_reported_per_resource"),
        explain: "`check --live` ran CloudFormation drift detection: the resource was changed or deleted outside CloudFormation (console, CLI, another tool). The next apply that touches the resource reverts the change, which may undo an incident fix. Put the change into the spec, or revert it by hand. Drift detection compares only the properties the template sets.",
    }
    MI5002 {
        severity: Warning,
        title: "stack not deployed or not settled",
        witness: Test("a_stack_that_is_not_deployed_is_mi5002"),
        explain: "`check --live` found a stack of the build missing, or in a state other than CREATE_COMPLETE/UPDATE_COMPLETE (rolled back, failed, in progress). Run `mailinfra plan` to see what blocks it and `mailinfra apply` to deploy.",
    }
    MI5003 {
        severity: Error,
        title: "secondary region not ready for failover",
        witness: Test("missing_secondary_resources_are_reported"),
        explain: "A global endpoint fails sending over to the secondary region, which then needs the same identities, configuration sets and templates as the primary. `check --live` compares the deployed sending stacks of both regions (from CloudFormation). Whether the identities are verified and DKIM keys replicated is SES state that CloudFormation does not show: `check --live` reads it from SES and reports it as MI5005 and MI5006.",
    }
    MI5004 {
        severity: Warning,
        title: "live state cannot be read",
        witness: Test("identities_reads_every_identity_and_sums_up_read_errors"),
        explain: "`check --live` could not read a stack or finish drift detection (credentials, permissions, throttling, or resource types drift detection does not support), or could not read identities from SES (`ses:GetEmailIdentity`). The other findings still hold.",
    }
    MI5005 {
        severity: Error,
        title: "identity missing or not verified in SES",
        witness: Test("a_missing_identity_is_one_mi5005_at_its_key"),
        explain: "`check --live` read the identity from SES (`GetEmailIdentity`) in each region of the spec: it does not exist there, or SES does not let you send from it yet; the message gives its verification status. A missing identity is created by `mailinfra apply`. A domain is verified once SES sees its DNS records (`mailinfra dns --live` lists them), which can take up to 72 hours; a DEED replica in the secondary region is verified through the primary's DKIM records; an email address through the link SES mails to it. Mail from an unverified identity is rejected, and a global endpoint fails over to a region that cannot send.",
    }
    MI5006 {
        severity: Error,
        title: "DKIM not working as the spec says",
        witness: Test("failed_dkim_on_a_verified_identity_is_mi5006"),
        explain: "`check --live` read the identity's DKIM attributes from SES. Either the keys come from another origin than the spec says (`SigningAttributesOrigin`: `AWS_SES` for Easy DKIM, `EXTERNAL` for BYODKIM, `AWS_SES_<REGION>` for a DEED replica of the identity in that region; in the secondary region a DEED identity must be replicated from the primary), or DKIM signing is turned off, or the DKIM status of a verified identity is not SUCCESS (records removed or wrong). An identity becomes a DEED replica only when it is created, so a secondary identity with its own keys must be deleted and created again as a replica (or set `replication: independent`). Mail without a valid DKIM signature fails DMARC alignment through DKIM.",
    }
    MI5007 {
        severity: Error,
        title: "KMS key policy does not let SES use the key",
        witness: Test("a_key_policy_without_ses_is_mi5007"),
        explain: "`check --live` read the key policy (`kms:GetKeyPolicy`, after `kms:DescribeKey` for an alias) of a KMS key the spec hands to SES, and no statement allows the principal that uses the key (`ses.amazonaws.com`, or the account's IAM roles) the actions it needs under the conditions SES sends, or a `Deny` statement refuses them. The message names the missing actions and the help the statement to add. Statements with conditions mailinfra cannot evaluate are counted as allowing, so the check errs on the side of silence.",
    }
    MI5008 {
        severity: Error,
        title: "MAIL FROM domain not working in a region",
        witness: Test("a_pending_mail_from_names_the_region_s_record_and_what_ses_does_meanwhile"),
        explain: "`check --live` read the identity in each sending region (`GetEmailIdentity`): its MAIL FROM domain is not the one the spec gives that region, or SES has not found the domain's MX record (`MailFromDomainStatus` other than SUCCESS). Each region has its own MAIL FROM domain whose one MX value is `feedback-smtp.<region>.amazonses.com`. Until SES finds it, it sends from an `amazonses.com` MAIL FROM (`on_mx_failure: use_default`), which breaks DMARC alignment through SPF, or rejects the mail (`reject`). Publish the records `mailinfra dns --live` lists.",
    }
    MI5009 {
        severity: Error,
        title: "global endpoint not ready",
        witness: Test("an_endpoint_not_ready_missing_or_on_other_regions_is_mi5009"),
        explain: "`check --live` read the global endpoint in the primary region (`GetMultiRegionEndpoint`): it does not exist, is not READY (CREATING, FAILED, DELETING), or routes to other regions than the spec's. `SendEmail` with its `EndpointId` works only while it is READY. A FAILED endpoint, or one with other regions (they cannot change), must be deleted and created again by `mailinfra apply`.",
    }
    MI5010 {
        severity: Error,
        title: "SES cannot send freely in a region",
        witness: Test("a_sandboxed_paused_or_smaller_region_cannot_take_the_failover"),
        explain: "`check --live` read the account in each sending region (`GetAccount`): it is still in the SES sandbox (only verified recipients, 200 messages a day, 1 a second), its sending is paused, or its enforcement status is not HEALTHY. Production access and sending are granted per region: a secondary region in the sandbox cannot take over when the global endpoint fails over.",
    }
    MI5011 {
        severity: Warning,
        title: "secondary region's quota below the primary's",
        witness: Test("a_sandboxed_paused_or_smaller_region_cannot_take_the_failover"),
        explain: "`check --live` compared the sending quotas (`GetAccount` `SendQuota`: messages per 24 hours and per second) of the two sending regions: the secondary can send less than the primary, so a failover of the global endpoint would throttle or drop the load. Request a quota increase for the secondary region.",
    }
    MI5012 {
        severity: Error,
        title: "DNS record not published",
        witness: Test("nxdomain_is_missing_a_failed_lookup_is_not_and_placeholders_are_unknown"),
        explain: "`check --dns` asked a resolver for a record the topology needs (a DKIM CNAME or key, a MAIL FROM MX or SPF record, a DMARC record, an inbound MX) and the name does not exist (NXDOMAIN) or has no record of that type. Without it SES cannot verify the identity or sign with DKIM, the MAIL FROM domain falls back to `amazonses.com`, or mail is not delivered. Records of a Route 53 zone are deployed by `mailinfra apply`; those of an `external` zone you publish yourself (`mailinfra dns` lists them).",
    }
    MI5013 {
        severity: Error,
        title: "DNS record has another value",
        witness: Test("two_spf_records_are_a_duplicate_and_one_without_ses_differs"),
        explain: "`check --dns` found the record, with another value than the spec needs: a DKIM CNAME pointing elsewhere, a DKIM key record without the spec's public key, an SPF record at the MAIL FROM domain that does not include `amazonses.com`, DMARC tags other than the spec's, or MX values with another target or priority (an extra MX at an inbound domain takes mail past the gateway). TXT records are read as a resolver reads them, their strings joined with nothing between them (RFC 7208 §3.3). The help names each difference and the value to publish.",
    }
    MI5014 {
        severity: Error,
        title: "more than one SPF record at a name",
        witness: Test("two_spf_records_are_a_duplicate_and_one_without_ses_differs"),
        explain: "A name must not have more than one TXT record starting with `v=spf1` (RFC 7208 §3.2); a receiver that finds two returns `permerror` (§4.5), so SPF fails for every message, and DMARC can then pass only through DKIM. Merge the records into one that includes `amazonses.com`.",
    }
    MI5015 {
        severity: Error,
        title: "more than one DMARC record",
        witness: Test("dmarc_compares_tags_and_refuses_a_second_record"),
        explain: "`_dmarc.<domain>` holds more than one TXT record starting with `v=DMARC1`. A receiver then ends policy discovery and applies no DMARC policy to the domain's mail (RFC 7489 §6.6.3): spoofed mail is not quarantined or rejected and no reports are sent. Keep only the spec's record.",
    }
    MI5016 {
        severity: Error,
        title: "CNAME where another record type is needed",
        witness: Test("a_cname_where_a_txt_is_needed_is_its_own_finding_unless_its_target_matches"),
        explain: "The name of a TXT or MX record the topology needs is a CNAME, and its target does not hold the needed value. A CNAME cannot sit beside other data at its name (RFC 1034 §3.6.2), so the record cannot be added there until the CNAME is removed; Route 53 refuses to create it, and CloudFormation fails the stack. A CNAME whose target holds the right value (a hosted DMARC service, say) is accepted.",
    }
    MI5017 {
        severity: Error,
        title: "zone does not exist in DNS",
        witness: Test("every_finding_type_end_to_end_through_the_cli"),
        explain: "`check --dns` asked for the SOA record of a zone of the spec and the resolver answered NXDOMAIN: the domain is not registered or not delegated, so none of its records resolve, whatever the zone holds. For a Route 53 hosted zone, the registrar must list the hosted zone's name servers (its NS record). The zone's records are shown as `no zone` and not reported one by one.",
    }
    MI5018 {
        severity: Error,
        title: "DNS lookup failed",
        witness: Test("nxdomain_is_missing_a_failed_lookup_is_not_and_placeholders_are_unknown"),
        explain: "The resolver gave no answer for a record (timeout, SERVFAIL, REFUSED, a network error), so its state is unknown: it is not reported as missing. Check the resolver (`--dns-server IP[:PORT]` or `MAILINFRA_DNS_SERVER`; default the system's) and the network, and run `check --dns` again.",
    }
    MI5019 {
        severity: Info,
        title: "DNS record cannot be checked offline",
        witness: Test("nxdomain_is_missing_a_failed_lookup_is_not_and_placeholders_are_unknown"),
        explain: "The record's name or value is known only after deploy: the Easy DKIM tokens SES generates (`DkimDNSTokenName*` and `DkimDNSTokenValue*`), or a Mail Manager ingress endpoint's `ARecord`. `check --dns --live` reads them from the deployed stacks' outputs and checks the records too.",
    }
    MI5020 {
        severity: Warning,
        title: "secondary region lacks a dedicated IP pool or warmed IPs",
        witness: Test("a_secondary_without_a_pool_or_with_fewer_warmed_ips_is_mi5020"),
        explain: "`check --live` read the dedicated IP pools of both sending regions (`ListDedicatedIpPools`, `GetDedicatedIpPool`, `GetDedicatedIps`): a pool of the primary region does not exist in the secondary, or a standard pool has fewer warmed IPs (`WarmupStatus` `DONE`) there. Dedicated IPs are per region; after a failover of the global endpoint the secondary sends the whole volume from its own pool of that name, and cold IPs are throttled or filtered by receivers. Managed pools are scaled and warmed by SES and are compared by existence only.",
    }
}
