#!/usr/bin/env python3
"""The imaginary "app" provider's send API, for trying the adapter locally.

`POST /v1/send` with JSON `{"message_id", "to", "text"}`: 200 `{"id"}` for
a recipient it serves, 422 `{"error", "message"}` for one that blocked the
business (`--refuse USER`, repeatable). Every message it takes is printed.
"""

import argparse
import itertools
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:8091")
    p.add_argument("--refuse", action="append", default=[], metavar="USER")
    args = p.parse_args()
    ids = itertools.count(1)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != "/v1/send":
                return self.answer(404, {"error": "not_found", "message": self.path})
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                to, text = str(body["to"]), str(body["text"])
            except (ValueError, KeyError, TypeError) as e:
                return self.answer(400, {"error": "invalid_request", "message": str(e)})
            if to in args.refuse:
                return self.answer(422, {"error": "recipient_blocked", "message": f"user {to} blocked this business"})
            print(f"sent to {to}: {text[:60]}", flush=True)
            self.answer(200, {"id": f"app-msg-{next(ids)}"})

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *_):
            pass

    host, port = args.listen.rsplit(":", 1)
    server = ThreadingHTTPServer((host, int(port)), Handler)
    print(f"provider ready on http://{args.listen}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
