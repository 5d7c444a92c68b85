#!/usr/bin/env python3
"""An Omniroute bot in Python: answers "opening hours" questions, hands off otherwise.

It speaks the bot protocol of docs/bots.md over NATS JetStream:

- turns: the durable pull consumer `bot-<bot>` on the stream `OMNI_BOT`,
  subject `omni.bot.turn.<bot>`, payload `bot.v1.BotTurn` (protobuf);
- replies: `bot.v1.BotReply` published to JetStream on `omni.bot.reply`
  with `Nats-Msg-Id: reply:<turn_id>` (a turn delivered twice is answered
  once) and a `traceparent` continuing the turn's trace; the turn is
  acknowledged only after the reply's PubAck;
- a turn past its `deadline_ms` is acknowledged unanswered (Omniroute has
  handed the conversation to a person already);
- SIGTERM or Ctrl+C: stop taking turns, finish the one in hand, drain.

What it says: a greeting ("hello") gets a greeting with two quick-reply
options; a question about opening hours (or the "Opening hours" option)
gets the hours; anything else, or "Talk to a person", hands the
conversation to a person with a summary and a reason.

`--break no-msg-id` publishes replies without `Nats-Msg-Id`, to show the
bot conformance kit catching a turn answered twice.
"""

import argparse
import asyncio
import logging
import os
import re
import secrets
import signal
import time

import nats
import nats.errors
from nats.js.api import ConsumerConfig, DeliverPolicy

from omni.bot.v1 import bot_pb2

log = logging.getLogger("python-bot")

HOURS = "We are open Monday to Friday, 9:00 to 18:00, and Saturday 10:00 to 14:00."
GREETING = "Hello! I can tell you our opening hours, or pass you to a person."
OPTIONS = ["Opening hours", "Talk to a person"]
HANDOFF = "I am passing you to a person, who will see your question."
HOURS_WORDS = {"hours", "hour", "open", "opening", "close", "closing", "closed", "horario"}
GREETING_WORDS = {"hello", "hi", "hey", "hola", "bonjour", "hallo"}
PERSON = {"talk to a person", "agent", "person", "human"}


def now_ms():
    return int(time.time() * 1000)


def child_trace(parent):
    """The same W3C trace, a new span; a new trace when `parent` is not one."""
    parts = (parent or "").split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
    return f"00-{parts[1]}-{secrets.token_hex(8)}-{parts[3]}"


def answer(turn):
    """The reply to one turn (the turn's ids are filled in by `handle`)."""
    said = turn.option or turn.message.text
    words = set(re.findall(r"\w+", said.lower()))
    reply = bot_pb2.BotReply()
    if said.strip().lower() in PERSON:
        reply.messages.add(text=HANDOFF)
        reply.handoff.summary = "asked for a person"
        reply.handoff.reason = "asked_for_person"
    elif words & HOURS_WORDS:
        reply.messages.add(text=HOURS)
        reply.attributes["asked_hours"] = "yes"
        getattr(reply, "continue").SetInParent()
    elif words and words <= GREETING_WORDS:
        reply.messages.add(text=GREETING, options=OPTIONS)
        getattr(reply, "continue").SetInParent()
    else:
        reply.messages.add(text=HANDOFF)
        reply.handoff.summary = said[:500]
        reply.handoff.reason = "no_answer"
    return reply


class Bot:
    def __init__(self, args):
        self.args = args
        self.stopping = asyncio.Event()

    async def consume(self):
        """The bot's durable consumer, once the stream exists (Omniroute
        declares it). Its settings are those Omniroute declares for it."""
        while not self.stopping.is_set():
            try:
                return await self.js.pull_subscribe(
                    f"omni.bot.turn.{self.args.bot}",
                    durable=f"bot-{self.args.bot}",
                    stream="OMNI_BOT",
                    config=ConsumerConfig(
                        ack_wait=30, max_ack_pending=64, deliver_policy=DeliverPolicy.NEW
                    ),
                )
            except Exception as e:
                log.info("waiting for stream OMNI_BOT error=%r", e)
                await asyncio.sleep(0.5)
        return None

    async def handle(self, msg):
        try:
            turn = bot_pb2.BotTurn.FromString(msg.data)
        except Exception as e:
            log.error("undecodable turn dropped error=%r", e)
            return await msg.ack()
        if turn.bot != self.args.bot:
            log.warning("turn for another bot dropped turn_id=%s bot=%s", turn.turn_id, turn.bot)
            return await msg.ack()
        if turn.deadline_ms and turn.deadline_ms < now_ms():
            log.warning("turn past its deadline not answered turn_id=%s", turn.turn_id)
            return await msg.ack()
        reply = answer(turn)
        reply.turn_id = turn.turn_id
        reply.bot = self.args.bot
        reply.conversation_id = turn.conversation_id
        headers = {"traceparent": child_trace((msg.headers or {}).get("traceparent"))}
        if self.args.broken != "no-msg-id":
            headers["Nats-Msg-Id"] = f"reply:{turn.turn_id}"
        try:
            await self.js.publish("omni.bot.reply", reply.SerializeToString(), headers=headers)
        except Exception as e:
            log.warning("reply not published; the turn comes again turn_id=%s error=%r", turn.turn_id, e)
            return await msg.nak(delay=1)
        log.info("answered turn_id=%s action=%s", turn.turn_id, reply.WhichOneof("action"))
        await msg.ack()

    async def turns(self, sub):
        while not self.stopping.is_set():
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
        await sub.unsubscribe()  # takes no more; the server keeps the consumer

    async def run(self):
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        self.nc = await nats.connect(self.args.nats, name=f"bot-{self.args.bot}")
        self.js = self.nc.jetstream()
        sub = await self.consume()
        if sub is not None:
            print(f"bot ready: {self.args.bot}", flush=True)
            await self.turns(sub)  # the turn in hand finishes
        await self.nc.drain()
        log.info("stopped")
        print(f"bot stopped: {self.args.bot}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nats", default=os.environ.get("OMNI_NATS_URL", "nats://127.0.0.1:4222"))
    p.add_argument("--bot", default="hours", help="the bot's name, as in [bots.<name>]")
    p.add_argument("--break", dest="broken", choices=["no-msg-id"])
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(Bot(args).run())


if __name__ == "__main__":
    main()
