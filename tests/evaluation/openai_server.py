"""A small OpenAI-compatible chat server on loopback around the real default model, for tests.

Like vLLM or llama.cpp's server, it renders the received messages (and tools) with the model's own chat
template, generates greedily, and returns Hermes ``<tool_call>`` blocks as native ``tool_calls``. It can answer
the first requests with HTTP 429 to exercise retries, and it keeps what it received.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from slmswap.evaluation import TransformersBackend
from slmswap.formats import get_format

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase


class ChatServer:
    """Serves ``POST /v1/chat/completions`` on 127.0.0.1 (an ephemeral port) until closed."""

    def __init__(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, *, max_new_tokens: int = 12) -> None:
        self.generator = TransformersBackend(model, tokenizer, batch_size=1, max_new_tokens=max_new_tokens)
        self.tokenizer = tokenizer
        self.fail_first = 0
        self.requests: list[dict[str, Any]] = []
        self.prompts: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, answer = server.answer(body, dict(self.headers))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def answer(self, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.headers.append(headers)
            if self.fail_first > 0:
                self.fail_first -= 1
                return 429, {"error": {"message": "rate limited"}}
            self.requests.append(body)
            messages = [
                {
                    **m,
                    "tool_calls": [
                        {**c, "function": {**c["function"], "arguments": json.loads(c["function"]["arguments"])}}
                        for c in m["tool_calls"]
                    ],
                }
                if m.get("tool_calls")
                else m
                for m in body["messages"]
            ]
            prompt = self.tokenizer.apply_chat_template(
                messages, tools=body.get("tools"), tokenize=False, add_generation_prompt=True
            )
            self.prompts.append(prompt)
            generation = self.generator.generate([prompt])[0]
        parsed = get_format("hermes").parse(generation.text, strict=False)
        message: dict[str, Any] = {"role": "assistant", "content": generation.text}
        if parsed.turn is not None and parsed.turn.tool_calls:
            message = {
                "role": "assistant",
                "content": parsed.turn.content,
                "tool_calls": [
                    {
                        "id": f"call_{k}",
                        "type": "function",
                        "function": {"name": c.name, "arguments": json.dumps(c.arguments)},
                    }
                    for k, c in enumerate(parsed.turn.tool_calls)
                ],
            }
        usage = {"completion_tokens": generation.tokens}
        return 200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage}

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
