"""``slmswap export`` and ``slmswap serve``: a trained model as a directory real engines serve with the trained
prompt, and a launcher for those engines."""

from __future__ import annotations

import argparse

from slmswap._threads import cpu_phase
from slmswap.cli._common import EXIT_CHECK, EXIT_OK, Command
from slmswap.data.named import load_data
from slmswap.serving import export, serve, serving_parity


def _export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_dir", metavar="MODEL_DIR", help="a slmswap training output (holds slmswap.json)")
    parser.add_argument("out", metavar="OUT", help="the directory to write (new, or empty)")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="merge the LoRA adapter into the base weights (needed by transformers serve and plain vllm serve)",
    )
    parser.add_argument(
        "--check",
        metavar="DATA",
        default="demo:test",
        help="conversations the serving law is checked on after export (default: demo:test; 'none' to skip)",
    )


def _export(args: argparse.Namespace) -> int:
    with cpu_phase(name="export"):  # merging runs torch: on the free cores, as every CPU phase
        out = export(args.model_dir, args.out, merge=args.merge)
    print(f"exported {args.model_dir} to {out} ({'merged weights' if args.merge else 'adapter'})")
    if args.check == "none":
        return EXIT_OK
    report = serving_parity(out, load_data(args.check)[:20])
    for line in report.mismatches:
        print(f"  {line}")
    verdict = "holds" if report.ok else "FAILS"
    print(f"serving law {verdict}: {report.prompts} served prompts compared token for token, {report.parsed} targets")
    print(f"serve it with: slmswap serve {out}")
    return EXIT_OK if report.ok else EXIT_CHECK


EXPORT = Command(
    "export",
    "export a trained model for real servers: the format baked into the chat template, calls parsed as tool_calls",
    "Write a standard Hugging Face model directory: the weights (merged with --merge, else the adapter with its "
    "base named), the tokenizer whose chat_template renders OpenAI messages and tools exactly as the trained "
    "format does and whose response_template turns the format's calls into OpenAI tool_calls, the manifest, and "
    "for vLLM a tool-parser plugin when vLLM has no parser for the format. Then check the serving law on sample "
    "conversations (exit 1 when it fails).",
    _export_arguments,
    _export,
)


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", metavar="OUT", help="a directory slmswap export wrote")
    parser.add_argument(
        "--engine",
        choices=("auto", "transformers", "vllm"),
        default="auto",
        help="auto: vllm when it and a CUDA GPU are present, else transformers serve (default: auto)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: %(default)s)")


def _serve(args: argparse.Namespace) -> int:
    return serve(args.out, engine=args.engine, host=args.host, port=args.port)


SERVE = Command(
    "serve",
    "serve an exported model with a real engine (transformers serve, vllm serve) and say the base_url to use",
    "Launch transformers serve (CPU or GPU) or vllm serve (GPU) on an exported directory, with the flags tool "
    "calling needs, and print the base_url and model name to put in the application's OpenAI client. Ctrl-C "
    "stops the server.",
    _serve_arguments,
    _serve,
)
