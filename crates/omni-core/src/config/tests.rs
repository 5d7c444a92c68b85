//! Loading, overriding and validating a configuration.

use super::*;

const SAMPLE: &str = r#"
    [context]
    topics = { sales = "sales" }
    default_queue = { chat = "support" }

    [[queues]]
    id = "sales"
    skills = { sales = 3 }

    [[queues]]
    id = "support"

    [[agents]]
    id = "alice"
    skills = { sales = 8 }
    capacity = { chat = 3 }
"#;

#[test]
fn sample_parses_and_routes_topics() {
    let config = Config::parse(SAMPLE).unwrap();
    config.validate().unwrap();
    assert_eq!(config.queue_for(Channel::CHAT, Some("sales")), "sales");
    assert_eq!(config.queue_for(Channel::CHAT, Some("nope")), "support");
    assert_eq!(config.queue_for(Channel::CHAT, None), "support");
    assert_eq!(config.agents[0].capacity[&Channel::CHAT], 3);
}

#[test]
fn context_identity_settings_are_validated() {
    let mut config = Config::parse(SAMPLE).unwrap();
    config.context.default_region = Some("us".into());
    config.validate().unwrap();
    assert_eq!(
        config.context.normalizer().unwrap().phone("(202) 555-0143"),
        Ok(crate::Identity::Phone("+12025550143".into()))
    );
    config.context.default_region = Some("Atlantis".into());
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("context.default_region"), "{err}");
    config.context.default_region = None;
    config.context.reply_domain = "no domain".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("context.reply_domain"), "{err}");
}

#[test]
fn bad_requirements_name_the_queue_key_and_column() {
    let config = |queue: &str| {
        Config::parse(&format!("{queue}\n[[agents]]\nid = \"a\"\n"))
            .unwrap()
            .validate()
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        config("[[queues]]\nid = \"q\"\nrequirement = \"billing >= 5 AND lang = \\\"es\\\"\""),
        Err("invalid configuration: queues.q.requirement: column 23: \"=\" is not an operator; use \"==\"".into())
    );
    assert_eq!(
        config("[[queues]]\nid = \"q\"\nsteps = [{ after_secs = 30, requirement = \"(a\" }]"),
        Err("invalid configuration: queues.q.steps[0].requirement: column 3: unexpected end; expected \")\"".into())
    );
    assert_eq!(
        config(
            "[[queues]]\nid = \"q\"\nsteps = [{ after_secs = 30, overflow = \"r\" }]\n[[queues]]\nid = \"r\"\nsteps = [{ after_secs = 30, overflow = \"q\" }]"
        ),
        Err("invalid configuration: queues: overflow cycle q -> r -> q".into())
    );
    assert!(
        config("[[queues]]\nid = \"q\"\nsteps = [{ after_secs = 30, overflow = \"x\" }]")
            .unwrap_err()
            .contains("overflow to unknown queue \"x\"")
    );
    assert!(
        config("[[queues]]\nid = \"q\"\nskills = { a = 1 }\nrequirement = \"a\"")
            .unwrap_err()
            .contains("either skills or requirement")
    );
    assert!(config("[[queues]]\nid = \"q\"\nselection = [\"fastest\"]").is_err());
}

#[test]
fn unknown_key_is_named() {
    let err = Config::parse("dat_dir = \"x\"").unwrap_err();
    assert!(err.contains("dat_dir"), "{err}");
}

#[test]
fn bad_proficiency_is_rejected() {
    let mut config = Config::parse(SAMPLE).unwrap();
    config.agents[0].skills.insert("sales".into(), 11);
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("agents.alice") && err.contains("11"), "{err}");
}

#[test]
fn topic_to_unknown_queue_is_rejected() {
    let mut config = Config::parse(SAMPLE).unwrap();
    config.context.topics.insert("x".into(), "ghost".into());
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ghost"), "{err}");
}

#[test]
fn env_overrides_and_reports_bad_values() {
    let mut config = Config::parse(SAMPLE).unwrap();
    let env = BTreeMap::from([("OMNI_LISTEN_CHAT".to_string(), "127.0.0.1:9999".to_string())]);
    config.apply_env(&env).unwrap();
    assert_eq!(config.listen.chat.port(), 9999);
    let env = BTreeMap::from([("OMNI_LISTEN_CHAT".to_string(), "nine".to_string())]);
    let err = config.apply_env(&env).unwrap_err().to_string();
    assert!(err.contains("OMNI_LISTEN_CHAT"), "{err}");
    let env = BTreeMap::from([("OMNI_LISTEN_GPRC".to_string(), "127.0.0.1:1".to_string())]);
    let err = config.apply_env(&env).unwrap_err().to_string();
    assert!(
        err.contains("OMNI_LISTEN_GPRC") && err.contains("not a known"),
        "{err}"
    );
    let env = BTreeMap::from([("OMNI_LOG".to_string(), "debug".to_string())]);
    config.apply_env(&env).unwrap();
}

#[test]
fn sms_secrets_come_from_env_and_are_checked() {
    let mut config = Config::parse(SAMPLE).unwrap();
    config.sms.enabled = true;
    config.sms.from = "+15005550006".into();
    config.sms.twilio.account_sid = "AC123".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("auth_token"), "{err}");
    let env = BTreeMap::from([
        (
            "OMNI_SMS_TWILIO_AUTH_TOKEN".to_string(),
            "s3cret".to_string(),
        ),
        ("OMNI_SMS_MAX_SEGMENTS".to_string(), "3".to_string()),
        ("OMNI_SMS_SENDS_PER_SECOND".to_string(), "1".to_string()),
    ]);
    config.apply_env(&env).unwrap();
    config.validate().unwrap();
    assert_eq!(config.sms.max_segments, 3);
    assert_eq!(config.sms.sends_per_second, 1);
    assert!(!format!("{config:?}").contains("s3cret"));
    let env = BTreeMap::from([("OMNI_SMS_PROVIDER".to_string(), "nexmo".to_string())]);
    let err = config.apply_env(&env).unwrap_err().to_string();
    assert!(err.contains("OMNI_SMS_PROVIDER"), "{err}");
}

#[test]
fn the_sample_config_with_its_sms_section_is_valid() {
    let mut config = Config::parse(include_str!("../../../../config/omniroute.toml")).unwrap();
    config.validate().unwrap();
    assert_eq!(config.listen.sms.port(), 8082);
    assert_eq!(config.sms.provider, SmsProvider::Twilio);
    config.sms.enabled = true;
    config.sms.twilio.account_sid = "AC1".into();
    let env = BTreeMap::from([("OMNI_SMS_TWILIO_AUTH_TOKEN".to_string(), "t".to_string())]);
    config.apply_env(&env).unwrap();
    config.validate().unwrap();
}

#[test]
fn email_defaults_validate_and_env_overrides() {
    let mut config = Config::parse(SAMPLE).unwrap();
    config.validate().unwrap();
    let env = BTreeMap::from([
        (
            "OMNI_EMAIL_DOMAINS".to_string(),
            "Example.com, help.example.org".to_string(),
        ),
        ("OMNI_EMAIL_RELAY_TLS".to_string(), "starttls".to_string()),
        (
            "OMNI_EMAIL_RELAY".to_string(),
            "smtp://mail.example.com:587".to_string(),
        ),
    ]);
    config.apply_env(&env).unwrap();
    assert_eq!(config.email.domains, ["Example.com", "help.example.org"]);
    assert_eq!(config.email.relay_tls, RelayTls::Starttls);
    assert_eq!(
        config.email.relay_host_port().unwrap(),
        ("mail.example.com".to_string(), 587)
    );
    assert!(config.email.accepts("reply+c_1@EXAMPLE.COM"));
    assert!(config.email.accepts("x@help.example.org."));
    assert!(!config.email.accepts("x@evil.com"));
    assert!(!config.email.accepts("@example.com"));
    assert!(!config.email.accepts("example.com"));
    let env = BTreeMap::from([("OMNI_EMAIL_RELAY_TLS".to_string(), "ssl".to_string())]);
    let err = config.apply_env(&env).unwrap_err().to_string();
    assert!(err.contains("OMNI_EMAIL_RELAY_TLS"), "{err}");
}

#[test]
fn email_section_is_validated() {
    let mut config = Config::parse(SAMPLE).unwrap();
    config.email.relay = "http://x".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("email.relay"), "{err}");
    let mut config = Config::parse(SAMPLE).unwrap();
    config
        .email
        .topics
        .insert("sales@localhost".into(), "nope".into());
    let err = config.validate().unwrap_err().to_string();
    assert!(
        err.contains("email.topics") && err.contains("nope"),
        "{err}"
    );
    let mut config = Config::parse(SAMPLE).unwrap();
    config.email.relay_user = Some("u".into());
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("relay_password"), "{err}");
    let config = Config::parse(
        "[email]\ndomains = [\"example.com\"]\nrelay_tls = \"tls\"\n[[queues]]\nid = \"q\"\n",
    )
    .unwrap();
    config.validate().unwrap();
    assert_eq!(config.email.relay_tls, RelayTls::Tls);
}

#[test]
fn email_senders_are_checked_against_the_accepted_domains() {
    let base = "[email]\ndomains = [\"example.com\"]\n[[queues]]\nid = \"billing\"\n";
    let config = Config::parse(base).unwrap();
    config.validate().unwrap();
    let sender = config.email.sender(None);
    assert_eq!(sender.address, "support@example.com");
    assert_eq!(sender.name, "Support");

    let outside = base.replace(
        "domains = [\"example.com\"]",
        "domains = [\"example.com\"]\nfrom = \"support@localhost\"",
    );
    let err = Config::parse(&outside)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("email.from") && err.contains("support@localhost"),
        "{err}"
    );

    let per_queue = format!(
        "{base}[email.queue_from.billing]\naddress = \"billing@example.com\"\nname = \"Example Billing\"\n"
    );
    let config = Config::parse(&per_queue).unwrap();
    config.validate().unwrap();
    assert_eq!(config.email.sender(Some("billing")).name, "Example Billing");
    assert_eq!(config.email.sender(Some("other")).name, "Support");

    let bad_queue_domain = per_queue.replace("billing@example.com", "billing@elsewhere.org");
    let err = Config::parse(&bad_queue_domain)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("email.queue_from.billing"), "{err}");

    let unknown_queue = per_queue.replace("queue_from.billing", "queue_from.sales");
    let err = Config::parse(&unknown_queue)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("not one of the configured queues"), "{err}");
}

#[test]
fn missing_file_is_a_read_error() {
    let err = Config::load(Path::new("/nonexistent/omni.toml"), &BTreeMap::new()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }));
}

#[test]
fn a_misspelt_variable_is_refused_with_the_nearest_known_one() {
    let refusal = |name: &str| {
        let mut config = Config::parse(SAMPLE).unwrap();
        let env = BTreeMap::from([(name.to_string(), "true".to_string())]);
        config.apply_env(&env).unwrap_err().to_string()
    };
    let err = refusal("OMNI_EMAIL_ENABLE");
    assert!(
        err.contains("not a known") && err.contains("did you mean OMNI_EMAIL_ENABLED"),
        "{err}"
    );
    let err = refusal("OMNI_LISTEN_GPRC");
    assert!(err.contains("did you mean OMNI_LISTEN_GRPC"), "{err}");
    let err = refusal("OMNI_LOG_FROMAT");
    assert!(err.contains("did you mean OMNI_LOG_FORMAT"), "{err}");
    // Nothing close: no guess.
    let err = refusal("OMNI_WHATSAPP_TOKEN");
    assert!(
        err.contains("not a known") && !err.contains("did you mean"),
        "{err}"
    );
}

#[test]
fn every_listed_variable_is_read() {
    for name in CONFIG_ENV {
        let mut config = Config::parse(SAMPLE).unwrap();
        let env = BTreeMap::from([(name.to_string(), "x".to_string())]);
        if let Err(err) = config.apply_env(&env) {
            let err = err.to_string();
            assert!(!err.contains("not a known"), "{name}: {err}");
        }
    }
}

#[test]
fn limits_parse_and_a_zero_limit_is_named() {
    let text = format!(
        "{SAMPLE}\n[limits]\nheader_read_timeout_ms = 500\nconversations_per_visitor = 2\n"
    );
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    assert_eq!(config.limits.header_read_timeout_ms, 500);
    assert_eq!(config.limits.conversations_per_visitor, 2);
    assert_eq!(
        config.limits.requests_per_second,
        LimitsConfig::default().requests_per_second
    );
    let zero = format!("{SAMPLE}\n[limits]\nconnections_per_address = 0\n");
    let err = Config::parse(&zero)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("limits.connections_per_address"), "{err}");
}

/// Every credential the configuration holds, from the file and from the
/// environment, is missing from its `Debug` output and from the error of a
/// misspelt variable; URLs keep their host but not their credentials.
#[test]
fn no_secret_is_printed() {
    let file = format!(
        r#"{SAMPLE}
        [nats]
        url = "nats://omni:nats-pass-1@nats:4222"
        [redis]
        url = "rediss://omni:redis-pass-2@redis:6380/0"
        [email]
        relay_user = "relay"
        relay_password = "relay-pass-3"
        [sms.kannel]
        password = "kannel-pass-4"
        secret = "kannel-secret-5"
        "#
    );
    let mut config = Config::parse(&file).unwrap();
    let env = BTreeMap::from([(
        "OMNI_SMS_TWILIO_AUTH_TOKEN".to_string(),
        "twilio-token-6".to_string(),
    )]);
    config.apply_env(&env).unwrap();
    let printed = format!("{config:?} {config:#?}");
    for secret in [
        "nats-pass-1",
        "redis-pass-2",
        "relay-pass-3",
        "kannel-pass-4",
        "kannel-secret-5",
        "twilio-token-6",
    ] {
        assert!(!printed.contains(secret), "{secret} printed in {printed}");
    }
    assert!(printed.contains("nats://omni:***@nats:4222"), "{printed}");
    assert!(
        printed.contains("rediss://omni:***@redis:6380/0"),
        "{printed}"
    );
    let env = BTreeMap::from([(
        "OMNI_SMS_TWILIO_AUTH_TOKN".to_string(),
        "twilio-token-7".to_string(),
    )]);
    let err = config.apply_env(&env).unwrap_err().to_string();
    assert!(err.contains("OMNI_SMS_TWILIO_AUTH_TOKEN"), "{err}");
    assert!(!err.contains("twilio-token-7"), "{err}");
}

#[test]
fn urls_are_printed_without_credentials() {
    for (url, shown) in [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://s3cr3t-token@nats:4222", "nats://***@nats:4222"),
        ("redis://:pw@redis:6379", "redis://:***@redis:6379"),
        ("redis://u:p@ss@redis/0?x=1", "redis://u:***@redis/0?x=1"),
        (
            "https://h/p?user=a&password=b&api_key=c#f",
            "https://h/p?user=a&password=***&api_key=***#f",
        ),
        ("user:pw@host", "***"),
        ("host:6379", "host:6379"),
    ] {
        assert_eq!(redact_url(url), shown, "{url}");
    }
}

/// A parse error names the place and the problem but never quotes a
/// secret: not the source line (a token under the wrong section), not the
/// value of a credential's key with the wrong type.
#[test]
fn parse_errors_quote_no_secret() {
    let misplaced = "[sms]\nauth_token = \"tok-sms-1\"\n";
    let err = Config::parse(misplaced).unwrap_err();
    assert!(
        err.contains("auth_token") && err.contains("line 2"),
        "{err}"
    );
    assert!(!err.contains("tok-sms-1"), "{err}");
    let typed = "[email]\nrelay_password = 98765432\n";
    let err = Config::parse(typed).unwrap_err();
    assert!(
        err.contains("relay_password") && err.contains("line 2"),
        "{err}"
    );
    assert!(!err.contains("98765432"), "{err}");
    let err = Config::parse("[routing]\noffer_timeout_secs = \"x\"\n").unwrap_err();
    assert!(err.contains("line 2") && err.contains("string"), "{err}");
}

#[test]
fn link_tls_and_nats_credential_files_parse_and_are_checked() {
    let text = format!(
        r#"{SAMPLE}
        [redis]
        url = "rediss://omni:pw@redis:6380"
        ca_file = "/run/secrets/redis-ca.pem"
        cert_file = "/run/secrets/redis-client.pem"
        key_file = "/run/secrets/redis-client.key"
        [nats]
        url = "tls://nats:4222"
        ca_file = "/run/secrets/nats-ca.pem"
        creds_file = "/run/secrets/omni.creds"
        "#
    );
    let config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    let redis = config.redis.tls();
    assert_eq!(
        redis.ca_file.as_deref(),
        Some(std::path::Path::new("/run/secrets/redis-ca.pem"))
    );
    assert!(redis.client.is_some());
    assert_eq!(config.nats.tls().client, None);

    let mut half = Config::parse(&text).unwrap();
    half.redis.key_file = None;
    let err = half.validate().unwrap_err().to_string();
    assert!(err.contains("redis.cert_file and redis.key_file"), "{err}");

    let mut both = Config::parse(&text).unwrap();
    let env = BTreeMap::from([(
        "OMNI_NATS_NKEY_SEED_FILE".to_string(),
        "/run/secrets/omni.nk".to_string(),
    )]);
    both.apply_env(&env).unwrap();
    let err = both.validate().unwrap_err().to_string();
    assert!(
        err.contains("nats.creds_file and nats.nkey_seed_file"),
        "{err}"
    );
}

#[test]
fn limits_and_sign_in_settings_come_from_the_environment_and_are_validated() {
    let mut config = Config::parse(SAMPLE).unwrap();
    let env = BTreeMap::from([
        (
            "OMNI_LIMITS_REQUESTS_PER_SECOND".to_string(),
            "40".to_string(),
        ),
        (
            "OMNI_LIMITS_CONVERSATION_WINDOW_SECS".to_string(),
            "60".to_string(),
        ),
        ("OMNI_AUTH_SESSION_IDLE_SECS".to_string(), "600".to_string()),
        (
            "OMNI_AUTH_TRUSTED_PROXIES".to_string(),
            "10.0.0.5, 10.1.0.0/16".to_string(),
        ),
    ]);
    config.apply_env(&env).unwrap();
    config.validate().unwrap();
    assert_eq!(config.limits.requests_per_second, 40);
    assert_eq!(config.limits.conversation_window_secs, 60);
    assert_eq!(config.auth.session_idle_secs, 600);
    assert_eq!(config.auth.trusted_proxies, ["10.0.0.5", "10.1.0.0/16"]);

    let zero = BTreeMap::from([(
        "OMNI_LIMITS_CONNECTIONS_PER_ADDRESS".to_string(),
        "0".to_string(),
    )]);
    config.apply_env(&zero).unwrap();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("limits.connections_per_address"), "{err}");
    let bad = BTreeMap::from([(
        "OMNI_AUTH_SIGN_IN_PER_ACCOUNT_PER_MINUTE".to_string(),
        "many".to_string(),
    )]);
    let err = config.apply_env(&bad).unwrap_err().to_string();
    assert!(
        err.contains("OMNI_AUTH_SIGN_IN_PER_ACCOUNT_PER_MINUTE"),
        "{err}"
    );
}

#[test]
fn queue_bound_answer_and_forwarding_proxies_come_from_the_environment_and_are_validated() {
    let mut config = Config::parse(SAMPLE).unwrap();
    assert_eq!(config.limits.max_waiting_per_queue, 1000);
    let env = BTreeMap::from([
        (
            "OMNI_LIMITS_MAX_WAITING_PER_QUEUE".to_string(),
            "25".to_string(),
        ),
        (
            "OMNI_LIMITS_QUEUE_FULL_ANSWER".to_string(),
            "Busy, sorry".to_string(),
        ),
        (
            "OMNI_LIMITS_TRUSTED_PROXIES".to_string(),
            "10.0.0.5, 2001:db8::/32".to_string(),
        ),
    ]);
    config.apply_env(&env).unwrap();
    config.validate().unwrap();
    assert_eq!(config.limits.max_waiting_per_queue, 25);
    assert_eq!(config.limits.queue_full_answer, "Busy, sorry");
    assert_eq!(config.limits.proxies().len(), 2);
    for (name, value, key) in [
        (
            "OMNI_LIMITS_MAX_WAITING_PER_QUEUE",
            "0",
            "limits.max_waiting_per_queue",
        ),
        (
            "OMNI_LIMITS_QUEUE_FULL_ANSWER",
            " ",
            "limits.queue_full_answer",
        ),
        (
            "OMNI_LIMITS_TRUSTED_PROXIES",
            "10.0.0.0/99",
            "limits.trusted_proxies",
        ),
    ] {
        let mut config = Config::parse(SAMPLE).unwrap();
        config
            .apply_env(&BTreeMap::from([(name.to_string(), value.to_string())]))
            .unwrap();
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{name}={value}: {err}");
    }
}

#[test]
fn retention_defaults_overrides_and_zero_batch() {
    let config = Config::parse(SAMPLE).unwrap();
    assert_eq!(config.retention.conversation_days, 365);
    assert_eq!(
        config.retention.stream_max_age(),
        Some(std::time::Duration::from_secs(30 * 86_400))
    );
    let text = format!("{SAMPLE}\n[retention]\nconversation_days = 0\nstream_max_age_days = 7\n");
    let mut config = Config::parse(&text).unwrap();
    config.validate().unwrap();
    assert_eq!(config.retention.conversation_ms(), None, "0 keeps forever");
    let env = BTreeMap::from([
        (
            "OMNI_RETENTION_CONVERSATION_DAYS".to_owned(),
            "2".to_owned(),
        ),
        (
            "OMNI_RETENTION_STREAM_MAX_AGE_DAYS".to_owned(),
            "0".to_owned(),
        ),
    ]);
    config.apply_env(&env).unwrap();
    assert_eq!(config.retention.conversation_ms(), Some(2 * 86_400_000));
    assert_eq!(config.retention.stream_max_age(), None);
    let zero = format!("{SAMPLE}\n[retention]\nbatch_size = 0\n");
    let err = Config::parse(&zero)
        .unwrap()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("retention.batch_size"), "{err}");
}
