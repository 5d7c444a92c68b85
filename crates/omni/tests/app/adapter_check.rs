//! `omni adapter-check` against an adapter in another process over NATS:
//! the SMS adapter's reply side (over a fake of Twilio's Messages API)
//! passes the reply rules; a declaration it does not keep fails, named;
//! bad flags exit 2; a bus behind a private CA that verifies clients is
//! reached with the CA and a client certificate.

use std::process::Output;
use std::sync::Arc;

use omni_bus::Bus;
use omni_bus_nats::NatsBus;
use omni_core::config::{Config, SmsProvider};
use omni_testclients::twilio::{FakeTwilio, TwilioAccount};
use omni_testservers::nats::NatsServer;
use omni_testservers::tls::TestCerts;
use tokio_util::sync::CancellationToken;

use crate::support::omni;

const ACCOUNT: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-test-auth-token";
const CUSTOMER: &str = "+14155552671";
const INVALID_TO: &str = "+14155550199";

async fn check(nats: &str, extra: &[&str]) -> Output {
    let mut command = omni();
    command
        .args(["adapter-check", "--channel", "sms", "--nats", nats])
        .args(["--recipient", &format!("phone:{CUSTOMER}")])
        .args(["--refused-recipient", &format!("phone:{INVALID_TO}")])
        .args(["--refused-reason", "21211", "--wait-secs", "20"])
        .args(extra);
    tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run omni")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_adapter_out_of_process_is_checked_over_nats() {
    let nats = NatsServer::start().expect("nats-server");
    let fake = FakeTwilio::start(&TwilioAccount {
        sid: ACCOUNT.into(),
        auth_token: TOKEN.into(),
    })
    .await
    .expect("fake Twilio API");
    fake.invalid_to(INVALID_TO);
    let mut config = Config::default();
    config.sms.enabled = true;
    config.sms.provider = SmsProvider::Twilio;
    config.sms.from = "+14155550100".into();
    config.sms.twilio.account_sid = ACCOUNT.into();
    config.sms.twilio.auth_token = TOKEN.into();
    config.sms.twilio.api_base = fake.api_base().to_owned();
    config.sms.public_url = "http://127.0.0.1:9".into();
    config.sms.max_segments = 2;

    // The SMS adapter's reply side, as `omni sms` runs it, on its own bus link.
    let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("nats");
    let adapter = omni_sms::SmsAdapter::new(bus.clone(), Arc::new(config)).expect("adapter");
    let shutdown = CancellationToken::new();
    tokio::spawn(omni_sms::outbound::run(adapter, bus, shutdown.clone()));

    let out = check(&nats.url(), &["--max-text-chars", "306"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("adapter conformance (sms): 5 passed, 0 failed, 3 skipped"),
        "{stdout}"
    );
    assert!(stdout.contains("ok   error_mapping"), "{stdout}");

    // 400 characters are declared; the adapter refuses more than 306.
    let out = check(&nats.url(), &["--max-text-chars", "400"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("FAIL size_limits: expected a text of exactly 400 characters"),
        "{stdout}"
    );
    shutdown.cancel();
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let out = omni()
        .args([
            "adapter-check",
            "--channel",
            "sms",
            "--recipient",
            "+14155552671",
        ])
        .output()
        .expect("run omni");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--recipient \"+14155552671\" is not kind:value"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bus_that_requires_credentials_refuses_the_check_without_them() {
    let nats = NatsServer::start_with_user("omni", "s3cret").expect("nats-server");
    let out = check(&nats.url(), &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach NATS"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
}

#[test]
fn a_bus_behind_a_private_ca_is_checked_with_its_ca_and_a_client_certificate() {
    let certs = TestCerts::create().expect("test certificates");
    let nats = NatsServer::start_tls(&certs, true, None).expect("nats-server over TLS");
    let run = |extra: &[&std::ffi::OsStr]| {
        omni()
            .args([
                "adapter-check",
                "--channel",
                "sms",
                "--nats",
                &nats.tls_url(),
            ])
            .args([
                "--recipient",
                &format!("phone:{CUSTOMER}"),
                "--wait-secs",
                "1",
            ])
            .env_remove("OMNI_NATS_CA_FILE")
            .env_remove("OMNI_NATS_CERT_FILE")
            .env_remove("OMNI_NATS_KEY_FILE")
            .args(extra)
            .output()
            .expect("run omni")
    };
    // Without the CA the server's certificate is not trusted.
    let out = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot reach NATS"), "{stderr}");

    // With the CA and a client certificate the kit runs (and, with no
    // adapter on this bus, its reply rules fail: exit 1, not 2).
    let (ca, cert, key) = (certs.ca(), certs.client_cert(), certs.client_key());
    let out = run(&[
        "--nats-ca".as_ref(),
        ca.as_os_str(),
        "--nats-cert".as_ref(),
        cert.as_os_str(),
        "--nats-key".as_ref(),
        key.as_os_str(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("adapter conformance (sms)"), "{stdout}");
}
