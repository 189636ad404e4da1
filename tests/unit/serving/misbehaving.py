"""A real HTTP server on localhost that plays a misbehaving model server, for client and CLI tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["CHAT", "CITY", "HTML", "MODELS", "MODEL_LIST", "TOKENIZE", "FakeServer", "Reply", "completion", "serve"]

CHAT = "/v1/chat/completions"
MODELS = "/v1/models"
TOKENIZE = "/tokenize"


@dataclass(frozen=True)
class Reply:
    """What the server answers to one path; ``hang`` holds the answer until the test releases the server."""

    body: str
    content_type: str = "application/json"
    status: int = 200
    hang: bool = False


def completion(content: str) -> Reply:
    return Reply(
        json.dumps(
            {
                "id": "c1",
                "object": "chat.completion",
                "created": 0,
                "model": "base",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
            }
        )
    )


MODEL_LIST = Reply(json.dumps({"object": "list", "data": [{"id": "base", "max_model_len": 2048}]}))
CITY = completion('{"city": "Paris", "country": "France"}')
HTML = Reply("<!DOCTYPE html>\n<html>\n<body>\n<h1>Sign in to the proxy</h1>\n</body>\n</html>\n", "text/html")


@dataclass
class FakeServer:
    """A real HTTP server on localhost; ``seen`` lists ``(method, path)`` of every request it received."""

    url: str
    replies: dict[str, list[Reply]]
    seen: list[tuple[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def count(self, path: str) -> int:
        return sum(1 for _method, seen in self.seen if seen == path)


@contextmanager
def serve(chat: Reply | list[Reply], models: Reply = MODEL_LIST, tokenize: Reply | None = None) -> Iterator[FakeServer]:
    """Serve ``chat`` on ``/v1/chat/completions`` (a list: one reply per request, the last repeated).

    ``/tokenize`` answers 404, as on a server that is not vLLM, unless ``tokenize`` is given.
    """
    replies = {CHAT: chat if isinstance(chat, list) else [chat], MODELS: [models]}
    if tokenize is not None:
        replies[TOKENIZE] = [tokenize]
    state: list[FakeServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self._answer()

        def _answer(self) -> None:
            server = state[0]
            path = self.path.split("?")[0]
            answers = server.replies.get(path, [Reply('{"detail": "Not Found"}', status=404)])
            reply = answers[min(server.count(path), len(answers) - 1)]
            server.seen.append((self.command, path))
            if reply.hang and not server.release.wait(60):
                return
            body = reply.body.encode()
            self.send_response(reply.status)
            self.send_header("content-type", reply.content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, *_args: Any) -> None:
            pass  # a client that gave up on a hanging request closed its socket: nothing to report

    httpd = Server(("127.0.0.1", 0), Handler)
    state.append(FakeServer(url=f"http://127.0.0.1:{httpd.server_address[1]}/v1", replies=replies))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        state[0].release.set()
        httpd.shutdown()
        httpd.server_close()
