//! [`HttpClient`] through a real proxy: `omni_testservers::proxy`'s
//! [`ForwardProxy`] on a local port takes `CONNECT host:port` and
//! absolute-URI requests, relays both to the named port on 127.0.0.1
//! whatever the host, and records each connection's request head. A host
//! name that does not resolve ([`NOWHERE`]) therefore proves the request
//! went through the proxy.

use std::time::Duration;

use axum::Router;
use axum::routing::post;
use hyper::http::{Method, StatusCode};
use omni_testservers::proxy::{ForwardProxy, NOWHERE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::{HttpClient, Proxy};

/// An app answering `POST /turn` with its request's `Host`.
async fn app() -> u16 {
    let app = Router::new().route(
        "/turn",
        post(|headers: axum::http::HeaderMap| async move {
            let host = headers.get("host").and_then(|h| h.to_str().ok());
            format!("hello {}", host.unwrap_or("?"))
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

fn client(vars: &[(&str, &str)]) -> HttpClient {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let proxy =
        Proxy::from_vars(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
            .unwrap();
    HttpClient::with_proxy(Duration::from_secs(5), "omniroute-test", proxy).unwrap()
}

/// `http://ops:s3cret@<proxy>`: base64("ops:s3cret") is `b3BzOnMzY3JldA==`.
fn with_credentials(proxy: &ForwardProxy) -> String {
    proxy.url().replace("http://", "http://ops:s3cret@")
}

#[tokio::test]
async fn plain_http_goes_through_the_proxy_by_its_absolute_uri() {
    let proxy = ForwardProxy::start().unwrap();
    let port = app().await;
    let client = client(&[("http_proxy", &with_credentials(&proxy))]);
    let url = format!("http://{NOWHERE}:{port}/turn?n=1");
    let response = client
        .send(
            Method::POST,
            &url,
            &[],
            Some(("application/json", "{}".into())),
        )
        .await
        .unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        &response.body[..],
        format!("hello {NOWHERE}:{port}").as_bytes(),
        "the app saw its own host"
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let head = seen[0].to_ascii_lowercase();
    assert!(
        head.starts_with(&format!("post {url} http/1.1\r\n").to_ascii_lowercase()),
        "{head}"
    );
    assert!(
        head.contains("\r\nproxy-authorization: basic b3bzonmzy3jlda==\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_tls_inside() {
    let proxy = ForwardProxy::start().unwrap();
    // The host behind the tunnel records the first bytes it gets: a TLS
    // client opens with a handshake record (0x16) of TLS 1.x (0x03).
    let host = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = host.local_addr().unwrap().port();
    let first = tokio::spawn(async move {
        let (mut socket, _) = host.accept().await.unwrap();
        let mut head = [0u8; 2];
        socket.read_exact(&mut head).await.unwrap();
        head
    });
    let client = client(&[
        ("HTTPS_PROXY", &with_credentials(&proxy)),
        ("NO_PROXY", "localhost,127.0.0.1"),
    ]);
    let sent = client
        .send(
            Method::POST,
            &format!("https://{NOWHERE}:{port}/turn"),
            &[],
            None,
        )
        .await;
    let err = sent.expect_err("no TLS server answers").to_string();
    assert!(!err.contains("s3cret"), "no credentials in errors: {err}");
    assert_eq!(first.await.unwrap(), [0x16, 0x03], "TLS through the tunnel");
    let seen = proxy.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    let head = seen[0].to_ascii_lowercase();
    assert!(
        head.starts_with(&format!("connect {NOWHERE}:{port} http/1.1\r\n")),
        "{head}"
    );
    assert!(
        head.contains("\r\nproxy-authorization: basic b3bzonmzy3jlda==\r\n"),
        "{head}"
    );
}

#[tokio::test]
async fn a_host_no_proxy_names_is_reached_directly() {
    let proxy = ForwardProxy::start().unwrap();
    let port = app().await;
    let client = client(&[
        ("HTTP_PROXY", &proxy.url()),
        ("HTTPS_PROXY", &proxy.url()),
        ("no_proxy", "internal.example, 127.0.0.1"),
    ]);
    let response = client
        .send(
            Method::POST,
            &format!("http://127.0.0.1:{port}/turn"),
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        &response.body[..],
        format!("hello 127.0.0.1:{port}").as_bytes()
    );
    assert_eq!(proxy.seen(), Vec::<String>::new(), "the proxy saw nothing");

    // The same client sends a host NO_PROXY does not name through the proxy.
    client
        .send(
            Method::POST,
            &format!("http://{NOWHERE}:{port}/turn"),
            &[],
            None,
        )
        .await
        .unwrap();
    assert_eq!(proxy.seen().len(), 1);
}

#[tokio::test]
async fn a_proxy_refusing_the_tunnel_is_an_error_without_credentials() {
    // A proxy that asks for other credentials.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://ops:s3cret@{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\ncontent-length: 0\r\n\r\n",
                )
                .await;
        }
    });
    let client = client(&[("HTTPS_PROXY", &url)]);
    let err = client
        .send(Method::GET, &format!("https://{NOWHERE}/"), &[], None)
        .await
        .expect_err("refused")
        .to_string();
    assert!(err.contains("proxy authorization required"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
}
