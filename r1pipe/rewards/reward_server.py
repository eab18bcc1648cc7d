"""A reward model served over HTTP, for one too large to sit beside the policy on a training GPU.

    r1pipe serve-reward-model MODEL_DIR --port 8010 --device all_gpus --dtype bfloat16
    r1pipe run ... +reward.models.helpful.url=http://HOST:8010     (model_dir then only names it)

Stage 4 loads each reward model on the GPU of each training process by default. A reward model
larger than what a training GPU has left (a 70B judge beside a 7B policy) runs instead on GPUs or
a node of its own, the way verl, OpenRLHF and slime serve theirs: this server loads it once
(`--device all_gpus`: accelerate's `device_map="auto"` splits its layers over every GPU the server
sees), and every training process sends it the (prompt, response) pairs it holds and gets raw
scores back. What is judged (summary or full response) and the normalisation stay with the
training side's reward.models entry, so a served judge scores exactly what a local one would.

The protocol is two JSON routes:
    GET  /health -> {"model_dir": ..., "device": ..., "dtype": ...}
    POST /score  {"prompts": [[{"role", "content"}, ...] | [], ...], "responses": [str, ...]}
                 -> {"scores": [float, ...]}
Requests are scored one at a time (one model, one lock); each is batched by the server's
--batch-size. Why not vLLM's pooling server: its reward routes change between vLLM versions and
need a GPU build to serve a sequence classifier; this one needs nothing beyond transformers.
(Considered: `http.server` here against FastAPI/uvicorn, which are not dependencies.)
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from r1pipe.rewards.reward_model import RewardModelScorer

log = logging.getLogger(__name__)


def parse_request(body: bytes) -> tuple[list[list[dict[str, str]]], list[str]]:
    """The pairs of a /score request; ValueError names what is wrong with it."""
    try:
        payload = json.loads(body)
    except json.JSONDecodeError as err:
        raise ValueError(f"the body is not JSON: {err}") from err
    if not isinstance(payload, dict):
        raise ValueError('expected {"prompts": [...], "responses": [...]}')
    prompts, responses = payload.get("prompts"), payload.get("responses")
    if not isinstance(responses, list) or not all(isinstance(r, str) for r in responses):
        raise ValueError('"responses" must be a list of strings')
    if not isinstance(prompts, list) or len(prompts) != len(responses):
        raise ValueError(f'"prompts" must be a list as long as "responses" ({len(responses)})')
    for messages in prompts:
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content", ""), str)
            for m in messages
        ):
            raise ValueError('each prompt must be a list of {"role": str, "content": str} messages')
    return prompts, responses


def make_handler(scorer: RewardModelScorer) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()  # one model: requests from several training processes take turns

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, code: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path != "/health":
                self._reply(404, {"error": f"no route {self.path}; use GET /health or POST /score"})
                return
            dtype = str(next(scorer._model.parameters()).dtype).removeprefix("torch.")
            self._reply(200, {"model_dir": scorer.model_dir, "device": scorer.device, "dtype": dtype})

        def do_POST(self) -> None:  # noqa: N802
            if self.path != "/score":
                self._reply(404, {"error": f"no route {self.path}; use POST /score"})
                return
            try:
                prompts, responses = parse_request(
                    self.rfile.read(int(self.headers.get("Content-Length", 0)))
                )
            except ValueError as err:
                self._reply(400, {"error": str(err)})
                return
            started = time.monotonic()
            try:
                with lock:
                    scores = scorer.score_pairs(prompts, responses) if responses else []
            except Exception as err:  # the client sees why, and the server keeps serving
                log.exception("scoring %d responses failed", len(responses))
                self._reply(500, {"error": f"{type(err).__name__}: {err}"})
                return
            log.info("scored %d responses in %.2f s", len(responses), time.monotonic() - started)
            self._reply(200, {"scores": scores})

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            log.debug(format, *args)

    return Handler


def serve(scorer: RewardModelScorer, host: str, port: int) -> ThreadingHTTPServer:
    """Load the model and bind; the caller runs `serve_forever()` (port 0 picks a free one)."""
    scorer.load()
    return ThreadingHTTPServer((host, port), make_handler(scorer))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="r1pipe serve-reward-model",
        description="Serve one reward model (a sequence-classification model dir) over HTTP for stage 4: "
        "point reward.models.<name>.url at http://HOST:PORT.",
    )
    p.add_argument("model_dir", help="local HF sequence-classification dir (num_labels=1)")
    p.add_argument("--host", default="0.0.0.0", help="interface to listen on (default: all)")
    p.add_argument("--port", type=int, default=8010, help="port (0: a free one, printed)")
    p.add_argument(
        "--device",
        default="auto",
        help="auto (first GPU, else cpu) | cpu | cuda:N | all_gpus (split over every GPU)",
    )
    p.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "float16"])
    p.add_argument("--batch-size", type=int, default=8, help="responses per forward pass")
    p.add_argument("--max-length", type=int, default=2048, help="tokens; longer inputs keep their end")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    scorer = RewardModelScorer(
        args.model_dir,
        batch_size=args.batch_size,
        device=args.device,
        dtype=args.dtype,
        max_length=args.max_length,
    )
    server = serve(scorer, args.host, args.port)
    host, port = str(server.server_address[0]), int(server.server_address[1])
    # The line a launcher script (or a test) waits for before starting training.
    print(f"serving {args.model_dir} at http://{host}:{port} (POST /score, GET /health)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    import sys

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    sys.exit(main())
