#!/usr/bin/env python3
"""An Omniroute channel adapter in Python, for an imaginary provider "app".

The provider posts each customer message to this adapter over HTTP
(`POST /messages`, JSON `{"id", "from", "text"}`, `Authorization: Bearer
<secret>`), and takes agents' replies by HTTP POST (`POST <provider>/v1/send`,
JSON `{"message_id", "to", "text"}`: 2xx with `{"id"}` taken, 4xx with
`{"error", "message"}` refused, 5xx retried).

What it does, as docs/adapters.md asks of every adapter:

- inbound: the canonical `events.v1.InboundMessage` on
  `omni.inbound.<channel>`, published to JetStream with `Nats-Msg-Id` =
  the idempotency key `app:<provider id>` and a `traceparent`; the provider
  gets its 200 only after the PubAck, a 503 with `Retry-After` when the
  publish fails, a 400 for a message that breaks the contract;
- outbound: the durable pull consumer `<channel>-outbound` on
  `OMNI_OUTBOUND`, one message at a time (a conversation's order holds);
  a reply to another identity kind or longer than the declared maximum is
  reported FAILED unsent; a provider refusal is FAILED with its reason; a
  provider that cannot be reached is retried with exponential backoff and
  jitter while the message is held (kept alive with in-progress acks);
- delivery reports on `omni.delivery.<channel>` with `Nats-Msg-Id`
  `<channel>-delivery:<message id>:<STATUS>`, continuing the reply's trace;
- its capabilities announced on `omni.adapter.announce.<channel>`;
- SIGTERM: stop taking messages, finish the send in progress, nak one
  waiting for a retry, drain the connection;
- conformance mode (`--conformance-token`, never in production): answers
  `omni.adapter.conformance.<channel>.customer_writes` by posting the
  message to its own `/messages` endpoint, exactly as the provider would.

`--break` makes it break one rule on purpose, to show the kit catches it.
"""

import argparse
import asyncio
import hmac
import json
import logging
import os
import random
import secrets
import signal
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import nats
import nats.errors
from nats.js.api import ConsumerConfig

from omni.adapter.v1 import adapter_pb2
from omni.common.v1 import common_pb2
from omni.events.v1 import events_pb2

log = logging.getLogger("app-adapter")

TOKEN_HEADER = "Omni-Conformance-Token"
MAX_ATTEMPTS = 8  # sends of one reply before it is reported FAILED


def now_ms():
    return int(time.time() * 1000)


def new_trace():
    """A W3C traceparent starting a trace."""
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def child_trace(parent):
    """The same trace, a new span; a new trace when `parent` is not one."""
    parts = (parent or "").split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return new_trace()
    return f"00-{parts[1]}-{secrets.token_hex(8)}-{parts[3]}"


def backoff(attempt):
    """250 ms doubling to 16 s, with equal jitter."""
    base = min(0.25 * 2 ** (attempt - 1), 16.0)
    return base / 2 + random.uniform(0, base / 2)


class Adapter:
    def __init__(self, args):
        self.args = args
        self.channel = args.channel
        self.stopping = asyncio.Event()
        self.loop = None
        self.nc = None
        self.js = None

    # ---- capabilities ----

    def capabilities(self):
        return adapter_pb2.Capabilities(
            channel=self.channel,
            max_text_chars=self.args.max_text_chars,
            outbound_first=True,
            identity_kind=self.args.identity_kind,
        )

    async def announce(self):
        announcement = adapter_pb2.Announcement(
            capabilities=self.capabilities(), adapter="app-adapter.py/0.1", at_ms=now_ms()
        )
        await self.nc.publish(
            f"omni.adapter.announce.{self.channel}", announcement.SerializeToString()
        )

    # ---- inbound: publish durably, then acknowledge the provider ----

    async def accept(self, provider_id, sender, text, traceparent):
        """Returns the HTTP status and JSON body the provider gets."""
        if not provider_id or not sender or not text:
            return 400, {"error": "invalid", "message": "id, from and text are required"}
        key = f"app:{provider_id}"
        message = events_pb2.InboundMessage(
            idempotency_key=key,
            channel=common_pb2.CHANNEL_UNSPECIFIED,
            channel_name=self.channel,
            text=text,
            received_at_ms=now_ms(),
        )
        identity = common_pb2.DeclaredIdentity(kind=self.args.identity_kind, value=sender)
        getattr(message, "from").declared.CopyFrom(identity)
        trace = child_trace(traceparent) if traceparent else new_trace()
        headers = {"traceparent": trace}
        if self.args.broken != "no-dedup":
            headers["Nats-Msg-Id"] = key
        publish = self.js.publish(
            f"omni.inbound.{self.channel}",
            message.SerializeToString(),
            timeout=5,
            headers=headers,
        )
        if self.args.broken == "ack-before-publish":
            asyncio.ensure_future(publish)
            return 200, {"accepted": True}
        try:
            ack = await publish
        except Exception as e:  # no stream, no server, no PubAck: not stored
            log.warning("inbound message not stored; provider told to retry key=%s error=%r", key, e)
            return 503, {"error": "unavailable", "message": f"not stored: {e!r}"}
        log.info("inbound message stored key=%s duplicate=%s trace=%s", key, bool(ack.duplicate), trace)
        return 200, {"accepted": True, "duplicate": bool(ack.duplicate)}

    def http_handler(self):
        adapter = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                if self.path != "/messages":
                    return self.answer(404, {"error": "not_found", "message": self.path})
                expected = f"Bearer {adapter.args.provider_secret}"
                given = self.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), expected.encode()):
                    return self.answer(403, {"error": "forbidden", "message": "not the provider"})
                try:
                    length = int(self.headers.get("Content-Length", "0"))
                    body = json.loads(self.rfile.read(length))
                    fields = (str(body["id"]), str(body["from"]), str(body["text"]))
                except (ValueError, KeyError, TypeError) as e:
                    return self.answer(400, {"error": "invalid_json", "message": str(e)})
                future = asyncio.run_coroutine_threadsafe(
                    adapter.accept(*fields, self.headers.get("traceparent")), adapter.loop
                )
                self.answer(*future.result(timeout=30))

            def answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *_):
                pass

        return Handler

    # ---- outbound: deliver, retry, report ----

    async def consume(self):
        """The durable consumer, once the stream exists (the first Omniroute
        part to connect declares it)."""
        while not self.stopping.is_set():
            try:
                return await self.js.pull_subscribe(
                    f"omni.outbound.{self.channel}",
                    durable=f"{self.channel}-outbound",
                    stream="OMNI_OUTBOUND",
                    config=ConsumerConfig(ack_wait=30, max_ack_pending=256),
                )
            except Exception as e:
                log.info("waiting for stream OMNI_OUTBOUND error=%r", e)
                await asyncio.sleep(0.5)
        return None

    async def outbound(self):
        sub = await self.consume()
        while sub is not None and not self.stopping.is_set():
            try:
                messages = await sub.fetch(1, timeout=1)
            except nats.errors.TimeoutError:
                continue
            except Exception as e:
                log.warning("fetch failed error=%r", e)
                await asyncio.sleep(0.5)
                continue
            for msg in messages:
                await self.handle(msg)
        if sub is not None:
            await sub.unsubscribe()  # takes no more; the server keeps the consumer

    async def handle(self, msg):
        trace = child_trace((msg.headers or {}).get("traceparent"))
        try:
            command = events_pb2.OutboundMessage.FromString(msg.data)
        except Exception as e:
            log.error("undecodable outbound message dropped error=%r", e)
            return await msg.ack()
        m = command.message
        status, provider_id, error = await self.deliver(msg, command)
        if status is None:  # shutdown while waiting for a retry
            return await msg.nak()
        if m.id:
            await self.report(m, status, provider_id, error, trace)
        await msg.ack()

    async def deliver(self, msg, command):
        m, to = command.message, command.to
        if to.WhichOneof("kind") != "declared" or to.declared.kind != self.args.identity_kind:
            return common_pb2.DELIVERY_STATUS_FAILED, "", f"recipient is not an {self.args.identity_kind} user"
        chars = len(m.text)
        limit = self.args.max_text_chars
        if limit and chars > limit:
            reason = f"text of {chars} characters exceeds the {self.channel} channel's maximum of {limit}"
            return common_pb2.DELIVERY_STATUS_FAILED, "", reason
        body = {"message_id": m.id, "to": to.declared.value, "text": m.text}
        for attempt in range(1, MAX_ATTEMPTS + 1):
            code, answer = await asyncio.to_thread(self.post_to_provider, body)
            if 200 <= code < 300:
                return common_pb2.DELIVERY_STATUS_SENT, str(answer.get("id", "")), ""
            reason = f"{answer.get('error', code)}: {answer.get('message', '')}"
            if 400 <= code < 500 and code not in (408, 429):
                log.warning("provider refused message_id=%s reason=%s", m.id, reason)
                return common_pb2.DELIVERY_STATUS_FAILED, "", reason
            if attempt == MAX_ATTEMPTS:
                return common_pb2.DELIVERY_STATUS_FAILED, "", f"gave up after {attempt} attempts: {reason}"
            delay = backoff(attempt)
            log.warning("provider unavailable; will retry message_id=%s attempt=%d reason=%s", m.id, attempt, reason)
            await msg.in_progress()
            try:
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
                return None, "", ""  # shutting down: another replica takes it
            except asyncio.TimeoutError:
                pass

    def post_to_provider(self, body):
        request = urllib.request.Request(
            f"{self.args.provider_url}/v1/send",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as e:
            try:
                return e.code, json.loads(e.read() or b"{}")
            except ValueError:
                return e.code, {}
        except (OSError, ValueError) as e:
            return 503, {"error": "unreachable", "message": str(e)}

    async def report(self, m, status, provider_id, error, trace):
        report = events_pb2.DeliveryReport(
            message_id=m.id,
            conversation_id=m.conversation_id,
            channel=common_pb2.CHANNEL_UNSPECIFIED,
            channel_name=self.channel,
            status=status,
            provider_message_id=provider_id,
            error=error,
            at_ms=now_ms(),
        )
        name = common_pb2.DeliveryStatus.Name(status)
        headers = {"traceparent": trace, "Nats-Msg-Id": f"{self.channel}-delivery:{m.id}:{name}"}
        for attempt in range(1, 7):
            try:
                await self.js.publish(
                    f"omni.delivery.{self.channel}", report.SerializeToString(), timeout=5, headers=headers
                )
                log.info("delivery report message_id=%s status=%s error=%s", m.id, name, error)
                return
            except Exception as e:
                log.warning("delivery report not published; retrying message_id=%s error=%r", m.id, e)
                await asyncio.sleep(backoff(attempt))
        log.error("delivery report lost message_id=%s status=%s", m.id, name)

    # ---- the conformance hook (conformance mode only) ----

    def token_ok(self, msg):
        given = (msg.headers or {}).get(TOKEN_HEADER, "")
        return hmac.compare_digest(given.encode(), self.args.conformance_token.encode())

    async def on_customer_writes(self, msg):
        if not self.token_ok(msg):
            log.warning("conformance request refused: missing or wrong token")
            answer = adapter_pb2.ConformanceAnswer(refused="missing or wrong conformance token")
            return await msg.respond(answer.SerializeToString())
        try:
            request = adapter_pb2.ConformanceCustomerMessage.FromString(msg.data)
        except Exception as e:
            answer = adapter_pb2.ConformanceAnswer(refused=f"undecodable request: {e!r}")
            return await msg.respond(answer.SerializeToString())
        # Exactly what the provider does: POST to our own endpoint.
        status, body = await asyncio.to_thread(self.post_as_provider, request)
        answer = adapter_pb2.ConformanceAnswer(
            acknowledged=200 <= status < 300,
            retryable=status == 503 or status == 429,
            detail=f"HTTP {status} {body}",
        )
        await msg.respond(answer.SerializeToString())

    def post_as_provider(self, request):
        body = {"id": request.provider_message_id, "from": getattr(request, "from"), "text": request.text}
        http = urllib.request.Request(
            f"http://{self.args.listen}/messages",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.args.provider_secret}",
            },
        )
        try:
            with urllib.request.urlopen(http, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)

    async def on_announce(self, msg):
        if not self.token_ok(msg):
            answer = adapter_pb2.ConformanceAnswer(refused="missing or wrong conformance token")
            return await msg.respond(answer.SerializeToString())
        await self.announce()
        await msg.respond(adapter_pb2.ConformanceAnswer(acknowledged=True).SerializeToString())

    # ---- start and stop ----

    async def run(self):
        self.loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self.stopping.set)
        self.nc = await nats.connect(self.args.nats, name=f"{self.channel}-adapter")
        self.js = self.nc.jetstream()
        host, port = self.args.listen.rsplit(":", 1)
        server = ThreadingHTTPServer((host, int(port)), self.http_handler())
        Thread(target=server.serve_forever, daemon=True).start()
        if self.args.conformance_token:
            log.warning("conformance mode: the hook takes customer messages from the bus; never in production")
            prefix = f"omni.adapter.conformance.{self.channel}"
            await self.nc.subscribe(f"{prefix}.customer_writes", cb=self.on_customer_writes)
            await self.nc.subscribe(f"{prefix}.announce", cb=self.on_announce)
        await self.announce()
        outbound = asyncio.ensure_future(self.outbound())
        print(f"adapter ready: channel {self.channel} on http://{self.args.listen}", flush=True)
        await self.stopping.wait()
        log.info("stopping")
        server.shutdown()  # no new provider requests
        await outbound  # the send in progress finishes; one waiting for a retry is nak'ed
        await self.nc.drain()
        log.info("stopped")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nats", default=os.environ.get("OMNI_NATS_URL", "nats://127.0.0.1:4222"))
    p.add_argument("--channel", default="app")
    p.add_argument("--identity-kind", default="app")
    p.add_argument("--listen", default="127.0.0.1:8090", help="host:port the provider posts to")
    p.add_argument("--provider-url", default="http://127.0.0.1:8091")
    p.add_argument("--provider-secret", default=os.environ.get("APP_PROVIDER_SECRET", ""))
    p.add_argument("--max-text-chars", type=int, default=500)
    p.add_argument(
        "--conformance-token",
        default=os.environ.get("OMNI_CONFORMANCE_TOKEN", ""),
        help="conformance mode: answer the kit's hook with this token (never in production)",
    )
    p.add_argument("--break", dest="broken", choices=["ack-before-publish", "no-dedup"])
    args = p.parse_args()
    if not args.provider_secret:
        p.error("--provider-secret (or APP_PROVIDER_SECRET) is required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(Adapter(args).run())


if __name__ == "__main__":
    main()
