//! The chat widget on another website (`tests/browser/widget.mjs`): a host
//! page on the site's configured origin embeds it with one script tag,
//! opens it with the keyboard and chats with an agent; a picture sent to
//! the agent and a fake PDF refused; Spanish from the browser and French
//! from `data-lang`; the chat on a phone; no chat on another origin or for
//! an unknown site; the accessibility check on the widget, the chat page
//! and the desk. And (`tests/browser/widget-queuefull.mjs`) the queue-full
//! answer in the site's Spanish.

use omni_core::config::{SiteConfig, SiteText};
use omni_testkit::TestApp;
use omni_testkit::app::test_config;

use super::Scenario;

/// The widget's test site `acme`, embeddable from `http://127.0.0.2:<host_port>`
/// (where the scripts serve its host page): sales only, labeled "Buying",
/// with a Spanish title, greeting, label and queue-full answer.
pub(super) fn acme_site(host_port: u16) -> SiteConfig {
    let mut site = SiteConfig {
        title: "Acme help".into(),
        greeting: "Hi! Ask us anything.".into(),
        accent: "#0b57d0".into(),
        topics: vec!["sales".into()],
        origins: vec![format!("http://127.0.0.2:{host_port}")],
        ..SiteConfig::default()
    };
    site.text.insert(
        "en".into(),
        SiteText {
            topics: [("sales".to_owned(), "Buying".to_owned())].into(),
            ..SiteText::default()
        },
    );
    site.text.insert(
        "es".into(),
        SiteText {
            title: Some("Ayuda de Acme".into()),
            greeting: Some("¡Hola! Pregúntanos lo que quieras.".into()),
            topics: [("sales".to_owned(), "Compras".to_owned())].into(),
            queue_full: Some(
                "Todas las líneas están ocupadas: vuelve a escribirnos en unos minutos.".into(),
            ),
        },
    );
    site
}

/// A free port on 127.0.0.2, for a script's host page.
pub(super) fn host_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.2:0")?
        .local_addr()?
        .port())
}

#[tokio::test]
async fn widget_in_chromium() -> anyhow::Result<()> {
    let host_port = host_port()?;
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config
        .chat
        .sites
        .insert("acme".into(), acme_site(host_port));
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let result = async {
        Scenario::new("widget.mjs", &app)?
            .env("HOST_PORT", &host_port.to_string())
            .run()
            .await
    }
    .await;
    app.stop().await;
    result
}

#[tokio::test]
async fn widget_queue_full_in_spanish() -> anyhow::Result<()> {
    let host_port = host_port()?;
    let data = tempfile::tempdir()?;
    let mut config = test_config(data.path())?;
    config
        .chat
        .sites
        .insert("acme".into(), acme_site(host_port));
    config.limits.max_waiting_per_queue = 1;
    for queue in &mut config.queues {
        queue.steps.retain(|s| s.overflow.is_none());
    }
    config.limits.queue_full_answer =
        "Every line is busy: please write again in a few minutes.".into();
    config.validate()?;
    let app = TestApp::start_with(data, config).await?;
    let result = async {
        Scenario::new("widget-queuefull.mjs", &app)?
            .env("HOST_PORT", &host_port.to_string())
            .run()
            .await
    }
    .await;
    app.stop().await;
    result
}
