"""A scripted OpenAI-compatible server on 127.0.0.1 for the optimizer tests.

It answers deterministically from the request alone, so a resumed run gets the
same replies as an uninterrupted one, and it records every request so tests can
check what the optimizers sent. Task-model replies are right or wrong by a hash
of the whole prompt (system prompt and demos included), so prompts really score
differently. Proposer requests (``model == "proposer"``) get a new prompt.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


def _tokens(text: str) -> int:
    return len(text.encode("utf-8")) // 4 + 1


class ScriptedServer(ThreadingHTTPServer):
    """``answers``: (needle, right reply, wrong reply); the first needle found in the last user message decides."""

    daemon_threads = True

    def __init__(
        self, answers: list[tuple[str, str, str]], log: Path | None = None, delay: float = 0.0, port: int = 0
    ) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.answers = answers
        self.log = log
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def reply(self, payload: dict[str, Any]) -> dict[str, Any]:
        messages = payload.get("messages") or [{"role": "user", "content": payload.get("prompt", "")}]
        prompt_text = "".join(m["content"] for m in messages)
        digest = int(hashlib.sha256(prompt_text.encode("utf-8")).hexdigest()[:8], 16)
        if payload.get("model") == "proposer":
            text = f"<prompt>Prompt variant {digest % 997}: reason step by step and state 'The answer is N'.</prompt>"
        else:
            last = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
            text = "I do not know."
            for needle, right, wrong in self.answers:
                if needle in last:
                    text = right if digest % 2 == 0 else wrong
                    break
        completion = min(_tokens(text), int(payload.get("max_tokens") or 10**9))
        return {
            "id": "cmpl-scripted",
            "object": "chat.completion",
            "model": payload.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {
                "prompt_tokens": _tokens(prompt_text),
                "completion_tokens": completion,
                "total_tokens": _tokens(prompt_text) + completion,
            },
        }


class _Handler(BaseHTTPRequestHandler):
    server: ScriptedServer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._send({"data": [{"id": "task"}, {"id": "proposer"}]})

    def do_POST(self) -> None:
        payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.server.delay:
            time.sleep(self.server.delay)
        body = self.server.reply(payload)
        record = {"payload": payload, "reply": body["choices"][0]["message"]["content"], "usage": body["usage"]}
        with self.server.lock:
            self.server.requests.append(record)
            if self.server.log is not None:
                with open(self.server.log, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
        self._send(body)
