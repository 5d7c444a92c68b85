//! Customers' data: erasing and exporting a customer are an admin's, over
//! gRPC and over the desk's HTTP API; an agent and a supervisor are refused
//! both ways, and the customer's data is untouched by their attempts.

use omni_proto::common::ErrorReason;
use omni_proto::context::context_service_client::ContextServiceClient;
use omni_proto::context::{EraseCustomerRequest, ExportCustomerRequest};
use omni_testkit::actors::{Customer, TEST_PASSWORD};
use omni_testkit::grpc::{AGENT_TOKEN, SERVICE_TOKEN, SUPERVISOR_TOKEN, admin_channel, channel};
use omni_testkit::{HttpClient, TestApp};
use tonic::Code;

use crate::records::customer_of_visitor;
use crate::support::{for_user, refused};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_erases_or_exports_a_customer() -> anyhow::Result<()> {
    let app = TestApp::start().await?;
    let (mut customer, _) = Customer::open(&app, None, "sales").await?;
    customer.say("my secret order 4711").await?;
    let id = customer_of_visitor(&app, &customer.visitor).await?;
    let erase = || EraseCustomerRequest {
        customer_id: id.clone(),
    };
    let export = || ExportCustomerRequest {
        customer_id: id.clone(),
    };

    // gRPC: the agent's and the supervisor's own tokens, and the desk's
    // service token acting for an agent or a supervisor.
    for token in [AGENT_TOKEN, SUPERVISOR_TOKEN] {
        let mut client = ContextServiceClient::new(channel(&app.grpc_url(), token)?);
        let what = format!("erase with token {token}");
        refused(
            client.erase_customer(erase()).await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &what,
        );
        let what = format!("export with token {token}");
        refused(
            client.export_customer(export()).await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &what,
        );
    }
    let mut desk = ContextServiceClient::new(channel(&app.grpc_url(), SERVICE_TOKEN)?);
    for (user, role) in [("bob", "agent"), ("supervisor", "supervisor")] {
        let what = format!("erase for {role}");
        refused(
            desk.erase_customer(for_user(erase(), user, role)).await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &what,
        );
        let what = format!("export for {role}");
        refused(
            desk.export_customer(for_user(export(), user, role)).await,
            Code::PermissionDenied,
            ErrorReason::PermissionDenied,
            &what,
        );
    }

    // HTTP: signed in as an agent and as a supervisor.
    let export_path = format!("/api/admin/customers/{id}/export");
    let erase_path = format!("/api/admin/customers/{id}");
    for user in ["bob", "supervisor"] {
        let (r, api) = HttpClient::new(app.desk_url())
            .sign_in(user, TEST_PASSWORD)
            .await?;
        let api = api.ok_or_else(|| anyhow::anyhow!("sign in {user}: {}", r.status))?;
        assert_eq!(api.get(&export_path).await?.status, 403, "{user} exports");
        assert_eq!(api.delete(&erase_path).await?.status, 403, "{user} erases");
    }

    // The admin exports over HTTP and finds the message; then erases.
    let (_, admin) = HttpClient::new(app.desk_url())
        .sign_in("admin", TEST_PASSWORD)
        .await?;
    let admin = admin.ok_or_else(|| anyhow::anyhow!("admin sign-in"))?;
    let r = admin.get(&export_path).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body.to_string().contains("my secret order 4711"),
        "{}",
        r.body
    );
    let r = admin.delete(&erase_path).await?;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["conversations"], 1, "{}", r.body);
    assert_eq!(admin.get(&export_path).await?.status, 404);
    let mut grpc_admin = ContextServiceClient::new(admin_channel(&app.grpc_url())?);
    refused(
        grpc_admin.export_customer(export()).await,
        Code::NotFound,
        ErrorReason::NotFound,
        "export after erasure",
    );
    app.stop().await;
    Ok(())
}
