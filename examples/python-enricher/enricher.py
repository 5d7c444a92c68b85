#!/usr/bin/env python3
"""An Omniroute external enricher in Python: sets a message's intent from
keywords, and its order number when the text names one.

It answers the context service's requests on `omni.enrich.request.<name>`
(`enrich.v1.EnrichRequest`) with an `enrich.v1.EnrichResponse` published
on the request's `reply-to` subject, within the configured deadline
(`[enrichment] deadline_ms`); docs/enrichment.md has the contract. Several
copies share the load with `--queue-group`.

    python enricher.py --nats nats://127.0.0.1:4222 --name crm-intents

and in Omniroute's configuration:

    [enrichment]
    external = "crm-intents"
"""

import argparse
import asyncio
import logging
import re
import signal

import nats

from omni.enrich.v1 import enrich_pb2

log = logging.getLogger("python-enricher")

# Intent -> words that name it (lowercase, matched as whole words).
INTENTS = {
    "refund": ["refund", "money back", "charged twice", "reembolso"],
    "cancel": ["cancel", "unsubscribe", "cancelar"],
    "delivery": ["parcel", "package", "tracking", "delivery"],
}
ORDER = re.compile(r"\border\s*#?\s*([A-Z]{1,3}-?\d{3,})\b", re.IGNORECASE)


def intent_of(text):
    """The first intent whose word is in `text`, or "" (none)."""
    lower = text.lower()
    for intent, words in INTENTS.items():
        if any(re.search(r"\b" + re.escape(w) + r"\b", lower) for w in words):
            return intent
    return ""


def answer(request):
    """The response for one request: the intent, and an order number."""
    response = enrich_pb2.EnrichResponse(intent=intent_of(request.text))
    found = ORDER.search(request.text)
    if found:
        response.attributes["order_number"] = found.group(1).upper()
    return response


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nats", default="nats://127.0.0.1:4222")
    parser.add_argument("--name", default="crm-intents", help="[enrichment] external")
    parser.add_argument("--queue-group", default="", help="share requests among copies")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    nc = await nats.connect(args.nats)

    async def handle(msg):
        reply_to = (msg.headers or {}).get("reply-to", "")
        if not reply_to.startswith("omni.reply."):
            log.warning("request without a reply subject ignored")
            return
        try:
            request = enrich_pb2.EnrichRequest.FromString(msg.data)
        except Exception as e:  # a request that does not decode: no answer
            log.warning("undecodable request: %s", e)
            return
        response = answer(request)
        await nc.publish(reply_to, response.SerializeToString())
        log.info("enriched message %s: intent %r", request.message_key, response.intent)

    subject = f"omni.enrich.request.{args.name}"
    await nc.subscribe(subject, queue=args.queue_group, cb=handle)
    await nc.flush()
    print(f"enricher ready on {subject}", flush=True)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await nc.drain()


if __name__ == "__main__":
    asyncio.run(main())
