"""Serving the swap: export a trained model into a standard directory that real engines serve with the trained
prompt and OpenAI ``tool_calls``, check the serving law on it, and launch an engine.

See the guide "Deploying the swap".
"""

from slmswap.data.openai import openai_message, openai_request
from slmswap.serving.exporter import export
from slmswap.serving.launch import Engine, ServeCommand, serve, serve_command
from slmswap.serving.parity import ParityReport, served_turn, serving_parity
from slmswap.serving.template import baked_chat_template, generation_prompt, response_template

__all__ = [
    "Engine",
    "ParityReport",
    "ServeCommand",
    "baked_chat_template",
    "export",
    "generation_prompt",
    "openai_message",
    "openai_request",
    "response_template",
    "serve",
    "serve_command",
    "served_turn",
    "serving_parity",
]
