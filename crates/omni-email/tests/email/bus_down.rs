//! Nothing accepted is lost: with NATS down the adapter answers 451 and the
//! client retries; after NATS is back the retry is accepted, once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use omni_bus::Bus;
use omni_bus_nats::NatsBus;
use omni_testservers::nats::NatsServer;

use crate::support::{self, Mail, Server, inbound, no_more_inbound};

const FIRST: Mail = Mail::new(
    "first",
    "n1@mail.example.com",
    "msg.set_content('Accepted while NATS is up.')",
);

const SECOND: Mail = Mail::new(
    "second",
    "n2@mail.example.com",
    "msg.set_content('Sent while NATS is down.')",
);

#[tokio::test]
async fn bus_down_gets_451_and_the_retry_is_accepted_once() {
    let mut nats = NatsServer::start().expect("nats-server");
    let bus: Arc<dyn Bus> = NatsBus::connect(&nats.url()).await.expect("connect");
    let server = Server::start_on(bus.clone(), support::config()).await;

    let out = FIRST.send(server.port).await;
    assert!(out.starts_with("OK"), "{out}");

    nats.stop().expect("stop nats");
    let out = SECOND.send(server.port).await;
    assert!(out.starts_with("ERR 451 4.3.0"), "{out}");

    nats.restart().expect("restart nats");
    // A sending MTA retries a 4xx; do the same until the bus is back.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = SECOND.send(server.port).await;
        if out.starts_with("OK") {
            break;
        }
        assert!(out.starts_with("ERR 451"), "{out}");
        assert!(Instant::now() < deadline, "bus not back within 20 s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The client did not see the 250 of a retry? It resends: deduplicated.
    assert!(SECOND.send(server.port).await.starts_with("OK"));

    let got = inbound(&bus, 2).await;
    assert_eq!(
        got[0].idempotency_key,
        support::key(&got[0], "n1@mail.example.com")
    );
    assert_eq!(
        got[1].idempotency_key,
        support::key(&got[1], "n2@mail.example.com")
    );
    assert_eq!(got[1].text, "Sent while NATS is down.");
    assert!(no_more_inbound(&bus, Duration::from_millis(500)).await);
}
