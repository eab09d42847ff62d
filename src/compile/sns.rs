//! SNS subscriptions of the topics mailinfra creates (reputation alarms,
//! classic receiving): one `AWS::SNS::Subscription` each. Logical ids derive
//! from the endpoint, so reordering the list changes nothing. (Lambda
//! functions are not offered: the permission to invoke one must be granted in
//! the function's own region, which a topic in another region cannot do.)

use serde_json::json;

use crate::spec::Subscription;
use crate::template::{Resource, Template, reference};

/// Subscribes every entry of `subs` to the topic `topic_id` of `t`, once each.
pub(super) fn subscriptions(
    t: &mut Template,
    topic_id: &str,
    subs: &[Subscription],
) -> Result<(), String> {
    // The same endpoint twice is one subscription.
    let mut seen = std::collections::HashSet::new();
    for s in subs.iter().filter(|s| seen.insert(*s)) {
        let (protocol, endpoint) = match s {
            Subscription::Email(a) => ("email", a),
            Subscription::Sqs(a) => ("sqs", a),
            Subscription::Https(a) => ("https", a),
        };
        let hash = crate::hash::sha256_hex(format!("{protocol} {endpoint}").as_bytes());
        let id = format!("{topic_id}Subscription{}", &hash[..10].to_ascii_uppercase());
        t.add(
            id,
            Resource::new("AWS::SNS::Subscription")
                .prop("TopicArn", reference(topic_id))
                .prop("Protocol", json!(protocol))
                .prop("Endpoint", json!(endpoint)),
        )?;
    }
    Ok(())
}
