//! The topics a customer can pick on the chat page: `context.topics` of the
//! configuration (topic to queue), each shown with its queue's name.
//!
//! The page reads them from `GET /topics` (a JSON list) rather than having
//! them written into its HTML, so the page stays one static file. A
//! `hello` naming a topic that is not configured is routed to the chat's
//! default queue and logged as a warning.

use omni_core::config::Config;
use serde::Serialize;

/// One topic as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Topic {
    /// What the page sends in `hello`, e.g. `sales`.
    pub id: String,
    /// What the customer reads: the queue's name, else the topic id.
    pub name: String,
}

/// The configured topics, in the configuration's (alphabetical) order.
pub fn list(config: &Config) -> Vec<Topic> {
    config
        .context
        .topics
        .iter()
        .map(|(id, queue)| Topic {
            id: id.clone(),
            name: config
                .queues
                .iter()
                .find(|q| &q.id == queue)
                .and_then(|q| q.name.clone())
                .unwrap_or_else(|| id.clone()),
        })
        .collect()
}

/// A topic a page asked for that is not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown chat topic {0:?}")]
pub struct UnknownTopic(pub String);

/// `topic` if it is configured, `Ok(None)` for none, or the unknown one.
pub fn check(config: &Config, topic: Option<String>) -> Result<Option<String>, UnknownTopic> {
    match topic {
        None => Ok(None),
        Some(t) if config.context.topics.contains_key(&t) => Ok(Some(t)),
        Some(t) => Err(UnknownTopic(t.chars().take(40).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use omni_core::config::QueueConfig;

    fn config() -> Config {
        let mut config = Config::default();
        config.context.topics = [("sales", "q_sales"), ("support", "q_support")]
            .into_iter()
            .map(|(t, q)| (t.to_owned(), q.to_owned()))
            .collect();
        let queue: QueueConfig =
            serde_json::from_value(serde_json::json!({ "id": "q_sales", "name": "Sales" }))
                .unwrap();
        config.queues = vec![queue];
        config
    }

    #[test]
    fn lists_configured_topics_with_queue_names() {
        assert_eq!(
            list(&config()),
            vec![
                Topic {
                    id: "sales".into(),
                    name: "Sales".into()
                },
                Topic {
                    id: "support".into(),
                    name: "support".into()
                },
            ]
        );
    }

    #[test]
    fn unknown_topic_is_an_error() {
        let c = config();
        assert_eq!(check(&c, None), Ok(None));
        assert_eq!(check(&c, Some("sales".into())), Ok(Some("sales".into())));
        assert_eq!(
            check(&c, Some("billing".into())),
            Err(UnknownTopic("billing".into()))
        );
    }
}
