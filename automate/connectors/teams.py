"""Microsoft Teams: post to a channel through its incoming webhook URL."""

from __future__ import annotations

import json
import re
from typing import Any

from automate import netguard
from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)

# Teams refuses webhook messages above 28 KB.
MAX_PAYLOAD_BYTES = 28 * 1024
TIMEOUT_SECONDS = 30
CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Older connectors answer 200 and say in the text that delivery failed.
DELIVERY_FAILED = re.compile(r"^webhook message delivery failed", re.IGNORECASE)
THROTTLED_OR_DOWN = re.compile(r"HTTP error (?:429|5\d\d)")

WEBHOOK_PARAM = Param(
    "webhook_url",
    "Webhook URL",
    "secret",
    required=True,
    help="The channel's incoming webhook URL (Channel > Workflows or Connectors). It works "
    "as a password: anyone who has it can post, so it stays masked in the run history.",
)
OUTPUTS = (
    Output("statusCode", "Status code", "integer"),
    Output("body/response", "Response", "text"),
)


class PostMessage(ConnectorAction):
    key = "post_message"
    title = "Post message in a channel"
    description = "Post a text message to a Teams channel through its incoming webhook."
    inputs = (
        WEBHOOK_PARAM,
        Param("message", "Message", "multiline", required=True, help="Text, Markdown or HTML."),
    )
    outputs = OUTPUTS

    def run(self, call: ActionCall) -> dict:
        message = call.inputs.get("message")
        if message is None or (isinstance(message, str) and not message.strip()):
            raise ActionError("Write the message to post.")
        text = message if isinstance(message, str) else json.dumps(message, ensure_ascii=False)
        return post_to_webhook(call.inputs.get("webhook_url"), {"text": text})


class PostCard(ConnectorAction):
    key = "post_card"
    title = "Post adaptive card in a channel"
    description = "Post an adaptive card to a Teams channel through its incoming webhook."
    inputs = (
        WEBHOOK_PARAM,
        Param(
            "card",
            "Adaptive card",
            "json",
            required=True,
            help='An adaptive card ({"type": "AdaptiveCard", "body": [...]}) or the list of '
            "its body elements.",
        ),
    )
    outputs = OUTPUTS

    def run(self, call: ActionCall) -> dict:
        card = adaptive_card(call.inputs.get("card"))
        payload = {
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        return post_to_webhook(call.inputs.get("webhook_url"), payload)


class TeamsConnector(Connector):
    key = "teams"
    name = "Microsoft Teams"
    description = "Post messages and adaptive cards to Teams channels."
    color = "#4b53bc"
    actions = (PostMessage, PostCard)


def adaptive_card(value: Any) -> dict:
    """An adaptive card from ``value``: a card as is, or a card body (a list) wrapped in one."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ActionError("The adaptive card is not valid JSON.") from None
    if isinstance(value, list):
        value = {"body": value}
    if not isinstance(value, dict):
        raise ActionError("The adaptive card must be an object or a list of card elements.")
    kind = value.get("type")
    if kind is None:
        card = {"type": "AdaptiveCard", **value}
    elif kind == "AdaptiveCard":
        card = dict(value)
    else:
        raise ActionError(
            f'The card\'s type is {kind!r}, not "AdaptiveCard". Give a whole card, or a list '
            "of its body elements."
        )
    body = card.get("body", [])
    if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
        raise ActionError("The card's body must be a list of elements (objects).")
    card.setdefault("version", CARD_VERSION)
    card.setdefault("$schema", CARD_SCHEMA)
    return card


def post_to_webhook(url: Any, payload: dict) -> dict:
    if not isinstance(url, str) or not url.strip():
        raise ActionError("Give the channel's incoming webhook URL.")
    data = json.dumps(payload, ensure_ascii=False).encode()
    if len(data) > MAX_PAYLOAD_BYTES:
        raise ActionError(
            f"The message is {len(data) // 1024} KB; Teams accepts at most "
            f"{MAX_PAYLOAD_BYTES // 1024} KB."
        )
    response = netguard.guarded_request(
        "POST",
        url.strip(),
        headers={"Content-Type": "application/json", "Accept": "application/json, text/plain"},
        body=data,
        timeout=TIMEOUT_SECONDS,
        max_bytes=64 * 1024,
    )
    text = response.body.decode("utf-8", errors="replace").strip()
    status = response.status
    if status >= 400:
        raise ActionError(
            f"Teams refused the message with status {status}: {text[:300] or 'no details'}",
            retryable=netguard.is_retryable_status(status),
            code=f"Http{status}",
            details={"statusCode": status, "body": text[:2000]},
        )
    if DELIVERY_FAILED.match(text):
        raise ActionError(
            f"Teams did not deliver the message: {text[:300]}",
            retryable=bool(THROTTLED_OR_DOWN.search(text)),
            details={"statusCode": status, "body": text[:2000]},
        )
    return {"statusCode": status, "body": {"response": text}}
