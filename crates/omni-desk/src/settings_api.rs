//! What the desk offers its agents from the configuration: the reasons an
//! agent may give for going away (`[desk] away_reasons`) and each queue's
//! wrap-up codes (`[[queues]] wrapup_codes`), served to the page by
//! `GET /api/desk/settings` and enforced on `PUT /api/presence`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use omni_core::config::{Config, DeskConfig};
use serde::Serialize;

use crate::Desk;
use crate::error::DeskError;

/// The desk's settings for agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskSettings {
    /// The reasons an agent may give for going away, in the order shown.
    pub away_reasons: Vec<String>,
    /// Each queue's wrap-up codes (queues without any are left out).
    pub wrapup_codes: BTreeMap<String, Vec<String>>,
}

impl Default for DeskSettings {
    fn default() -> Self {
        Self {
            away_reasons: DeskConfig::default().away_reasons,
            wrapup_codes: BTreeMap::new(),
        }
    }
}

impl DeskSettings {
    /// The settings of a configuration.
    pub fn from_config(config: &Config) -> Self {
        Self {
            away_reasons: config.desk.away_reasons.clone(),
            wrapup_codes: config
                .queues
                .iter()
                .filter(|q| !q.wrapup_codes.is_empty())
                .map(|q| (q.id.clone(), q.wrapup_codes.clone()))
                .collect(),
        }
    }

    /// Fails unless an agent going away gives no reason or one of
    /// [`DeskSettings::away_reasons`].
    pub fn check_away_reason(&self, presence: &str, reason: Option<&str>) -> Result<(), DeskError> {
        match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(reason) if presence == "away" => {
                if self.away_reasons.iter().any(|r| r == reason) {
                    Ok(())
                } else {
                    Err(DeskError::BadRequest(format!(
                        "away reason {reason:?} is not one of {}",
                        self.away_reasons.join(", ")
                    )))
                }
            }
            Some(_) => Err(DeskError::BadRequest(format!(
                "a reason goes only with \"away\", not {presence:?}"
            ))),
            None => Ok(()),
        }
    }
}

/// `GET /api/desk/settings`: away reasons and wrap-up codes per queue.
pub async fn get(State(desk): State<Arc<Desk>>) -> Json<DeskSettings> {
    Json(desk.settings().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_reasons_go_with_away() {
        let s = DeskSettings::default();
        assert!(s.check_away_reason("away", Some("lunch")).is_ok());
        assert!(s.check_away_reason("away", None).is_ok());
        assert!(s.check_away_reason("available", None).is_ok());
        let err = s.check_away_reason("away", Some("nap")).unwrap_err();
        assert!(
            err.to_string()
                .contains("\"nap\" is not one of break, lunch")
        );
        assert!(s.check_away_reason("available", Some("lunch")).is_err());
    }
}
