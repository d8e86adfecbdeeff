"""Teams posts to a channel's incoming webhook (a real HTTP server stands in for Teams)."""

import json

import pytest

from automate.connectors import find_action
from automate.connectors.base import ActionError
from automate.connectors.teams import CARD_CONTENT_TYPE, adaptive_card

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


@pytest.fixture
def webhook(httpserver):
    httpserver.expect_request("/webhook/abc", method="POST").respond_with_data("1")
    return httpserver.url_for("/webhook/abc")


def posted(httpserver) -> dict:
    request = httpserver.log[-1][0]
    assert request.headers["Content-Type"] == "application/json"
    return json.loads(request.get_data())


def test_posts_are_neither_repeatable_nor_transactional():
    for key in ("teams.post_message", "teams.post_card"):
        action = find_action(key)
        assert action.repeatable is False
        assert action.transactional is False
        assert action.connector.name == "Microsoft Teams"


@pytest.mark.slow
def test_a_message_is_posted_as_text(httpserver, webhook, action_call):
    outputs = find_action("teams.post_message").run(
        action_call({"webhook_url": webhook, "message": "Order <b>S-1</b> released"})
    )
    assert posted(httpserver) == {"text": "Order <b>S-1</b> released"}
    assert outputs == {"statusCode": 200, "body": {"response": "1"}}


@pytest.mark.slow
def test_a_card_is_posted_as_an_adaptive_card_attachment(httpserver, webhook, action_call):
    card = {
        "type": "AdaptiveCard",
        "version": "1.5",
        "body": [{"type": "TextBlock", "text": "Order S-1 needs a look", "weight": "Bolder"}],
    }
    find_action("teams.post_card").run(action_call({"webhook_url": webhook, "card": card}))
    payload = posted(httpserver)
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == CARD_CONTENT_TYPE
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert attachment["content"]["version"] == "1.5"
    assert attachment["content"]["body"] == card["body"]


@pytest.mark.slow
def test_a_card_body_alone_is_wrapped_in_a_card(httpserver, webhook, action_call):
    body = [{"type": "TextBlock", "text": "Hello"}]
    find_action("teams.post_card").run(action_call({"webhook_url": webhook, "card": body}))
    content = posted(httpserver)["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["body"] == body
    assert content["version"]


@pytest.mark.parametrize(
    ("card", "message"),
    [
        ({"type": "TextBlock", "text": "x"}, 'not "AdaptiveCard"'),
        ("{not json", "not valid JSON"),
        (42, "must be an object"),
        ({"type": "AdaptiveCard", "body": "text"}, "must be a list"),
    ],
)
def test_a_card_that_is_not_one_is_refused(card, message):
    with pytest.raises(ActionError, match=message):
        adaptive_card(card)


def test_a_card_given_as_json_text_is_read():
    assert adaptive_card('{"type": "AdaptiveCard", "body": []}')["type"] == "AdaptiveCard"


@pytest.mark.slow
def test_throttling_is_retryable_and_a_deleted_webhook_is_not(httpserver, action_call):
    httpserver.expect_request("/busy").respond_with_data("slow down", status=429)
    httpserver.expect_request("/gone").respond_with_data("not found", status=404)
    action = find_action("teams.post_message")
    with pytest.raises(ActionError) as busy:
        action.run(action_call({"webhook_url": httpserver.url_for("/busy"), "message": "x"}))
    assert busy.value.retryable is True
    with pytest.raises(ActionError) as gone:
        action.run(action_call({"webhook_url": httpserver.url_for("/gone"), "message": "x"}))
    assert gone.value.retryable is False
    assert "404" in gone.value.message


@pytest.mark.slow
def test_a_delivery_failure_reported_with_200_is_an_error(httpserver, action_call):
    httpserver.expect_request("/legacy").respond_with_data(
        "Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP "
        "error 413 with ContextId ..."
    )
    with pytest.raises(ActionError, match="did not deliver") as failed:
        find_action("teams.post_message").run(
            action_call({"webhook_url": httpserver.url_for("/legacy"), "message": "x"})
        )
    assert failed.value.retryable is False


def test_an_oversized_message_is_refused_before_posting(action_call):
    with pytest.raises(ActionError, match="at most 28 KB"):
        find_action("teams.post_message").run(
            action_call({"webhook_url": "https://example.com/hook", "message": "x" * 40_000})
        )


def test_a_webhook_on_an_internal_address_is_refused(settings, action_call):
    settings.AUTOMATE_HTTP_ALLOWED_NETWORKS = []
    with pytest.raises(ActionError, match="flows may not call it"):
        find_action("teams.post_message").run(
            action_call({"webhook_url": "http://169.254.169.254/hook", "message": "x"})
        )
