//! The `omni` binary and the assembled app, in one test binary: the
//! command line as an operator runs it (and no secret in what it prints),
//! `omni simulate`, the deployment files, desk replicas sharing sessions
//! through Redis, the desk's customer routes and its refusals (a taken
//! offer, a service that is down) against the embedded app, its tools
//! (internal notes, transfers with a note, wrap-up codes, canned
//! responses, away reasons), distributed
//! mode with every part in its own process, `omni user`, a waiting chat
//! customer's place in line in both modes, a full queue's answer in both
//! modes, erasing a customer in distributed mode, and a customer who moves
//! from chat to the webhook channel (a linked app identity) in one conversation,
//! the Python example adapter passing the kit out of process (the adapter
//! guide's steps, run as written), one trace per customer message across
//! processes (OTLP over gRPC and HTTP), the contact center's numbers after a
//! scripted day in both modes, and a reply the app keeps failing shown to an
//! admin as a dead letter in both modes, and typing and read receipts
//! across the processes of distributed mode. Also the image's and the manifests'
//! hardening, and the observability files against promtool and a real
//! Prometheus. The supervisor's wall's today numbers equal the store's and
//! survive a router restart in distributed mode. Surveys and follow-ups
//! after service (`surveys`), SMS surveys in both modes (`surveys_sms`)
//! and follow-ups in distributed mode (`followups_distributed`). A closed
//! queue's bot (`closed_bot`). Enrichment in both modes (`enrichment`,
//! `enrichment_external`).

mod adapter_check;
mod bots;
mod business_hours;
mod cli;
mod closed_bot;
mod contact_numbers;
mod deadletters;
mod declared_channel;
mod deploy;
mod deploy_hardening;
mod desk_customers;
mod desk_errors;
mod desk_replicas;
mod desk_tools;
mod distributed;
mod enrichment;
mod enrichment_external;
mod erasure;
mod faq_bot;
mod faq_handoff;
mod followups_distributed;
mod observability;
mod python_adapter;
mod python_bot;
mod queue_full;
mod queue_position;
mod secrets;
mod simulate;
mod support;
mod survey_links;
mod survey_view;
mod surveys;
mod surveys_sms;
mod traces;
mod typing;
mod user_cli;
mod wall_numbers;
mod wall_poller;
mod webhook;
mod webhook_bot;
