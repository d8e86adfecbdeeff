"""Outlook: mails go out through a real SMTP server (aiosmtpd) and are recorded."""

import base64
import io

import openpyxl
import pytest

from automate.connectors import find_action
from automate.connectors.base import ActionError
from automate.connectors.outlook import message_id
from automate.models import SentEmail
from tests.smtp import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(action_call):
    action = find_action("outlook.send_email")

    def run(step_name="Send_an_email", **inputs):
        return action.run(action_call(inputs, step_name=step_name))

    return run


def workbook_attachment(action_call) -> dict:
    rows = [{"No.": "S-1001", "Amount": 1250.5}, {"No.": "S-1002", "Amount": 80}]
    created = find_action("excel.create_workbook").run(
        action_call({"rows": rows, "file_name": "lines.xlsx"}, step_name="Create_workbook")
    )
    return created["body"]


@pytest.mark.slow
def test_a_mail_arrives_with_its_html_and_an_excel_attachment(inbox, send, action_call, flow_run):
    outputs = send(
        to="anna@example.com; Ben Bauer <ben@example.com>",
        cc=["carl@example.com"],
        bcc="dora@example.com",
        subject="Order S-1001 released",
        body="<p>Hello,</p><p>order <b>S-1001</b> is released.</p>",
        importance="High",
        attachments=[workbook_attachment(action_call)],
    )
    [received] = inbox.messages
    message = received["message"]
    assert received["from"] == "flows@cronus.example"
    assert sorted(received["to"]) == [
        "anna@example.com",
        "ben@example.com",
        "carl@example.com",
        "dora@example.com",
    ]
    assert message["Subject"] == "Order S-1001 released"
    assert message["To"] == "anna@example.com, Ben Bauer <ben@example.com>"
    assert message["Bcc"] is None
    assert message["Importance"] == "High"
    key = f"{flow_run.system_id}:Send_an_email"
    assert message["Message-ID"] == message_id(key)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "order <b>S-1001</b> is released" in html
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "order S-1001 is released." in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "lines.xlsx"
    workbook = openpyxl.load_workbook(io.BytesIO(attachment.get_content()))
    assert [c.value for c in workbook.active[2]] == ["S-1001", 1250.5]

    record = SentEmail.objects.get()
    assert record.step_key == key
    assert record.run == flow_run
    assert record.flow == flow_run.flow
    assert record.company == flow_run.company
    assert record.to == ["anna@example.com", "Ben Bauer <ben@example.com>"]
    assert record.cc == ["carl@example.com"]
    assert record.attachment_names == ["lines.xlsx"]
    assert outputs == {
        "body": {
            "messageId": message_id(key),
            "to": ["anna@example.com", "Ben Bauer <ben@example.com>"],
            "subject": "Order S-1001 released",
        }
    }


@pytest.mark.slow
def test_the_same_step_never_sends_twice(inbox, send):
    first = send(to="anna@example.com", subject="Once", body="<p>x</p>")
    second = send(to="anna@example.com", subject="Once, really", body="<p>y</p>")
    assert len(inbox.messages) == 1
    assert second == first
    assert SentEmail.objects.count() == 1
    send(step_name="Another_step", to="anna@example.com", subject="Twice", body="")
    assert len(inbox.messages) == 2


@pytest.mark.slow
def test_a_refused_recipient_fails_without_retry_and_records_nothing(inbox, send):
    inbox.refuse = "550 No such user here"
    with pytest.raises(ActionError) as failed:
        send(to="ghost@example.com", subject="Hello", body="x")
    assert failed.value.retryable is False
    assert "ghost@example.com" in failed.value.message
    assert not SentEmail.objects.exists()


@pytest.mark.slow
def test_a_temporary_refusal_is_retryable(inbox, send):
    inbox.refuse = "451 Try again later"
    with pytest.raises(ActionError) as failed:
        send(to="anna@example.com", subject="Hello", body="x")
    assert failed.value.retryable is True


def test_an_unreachable_mail_server_is_retryable_and_the_step_can_send_later(settings, send):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    with pytest.raises(ActionError) as failed:
        send(to="anna@example.com", subject="Hello", body="x")
    assert failed.value.retryable is True
    assert not SentEmail.objects.exists()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    send(to="anna@example.com", subject="Hello", body="x")
    assert SentEmail.objects.count() == 1


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"to": "not-an-address", "subject": "x"}, "'not-an-address' is not a valid email"),
        ({"to": "a@example.com; b@", "subject": "x"}, "'b@' is not a valid email"),
        ({"to": "", "subject": "x"}, "at least one recipient"),
        ({"to": "a@example.com", "subject": ""}, "Write a subject"),
        ({"to": "a@example.com", "subject": "x" * 999}, "longer than 998"),
        ({"to": "a@example.com", "subject": "x", "importance": "Urgent"}, "Importance"),
        (
            {"to": "a@example.com", "subject": "x", "attachments": [{"name": "a.txt"}]},
            "Attachment 1 must be a file",
        ),
        (
            {
                "to": "a@example.com",
                "subject": "x",
                "attachments": {"contentBytes": base64.b64encode(b"x").decode()},
            },
            "Attachment 1 has no name",
        ),
        (
            {
                "to": "a@example.com",
                "subject": "x",
                "attachments": {
                    "name": "big.bin",
                    "contentBytes": base64.b64encode(b"x" * (10 * 1024 * 1024 + 1)).decode(),
                },
            },
            "larger than 10 MB",
        ),
    ],
)
def test_bad_inputs_are_refused_before_sending(settings, send, mailoutbox, inputs, message):
    with pytest.raises(ActionError, match=message) as refused:
        send(body="x", **inputs)
    assert refused.value.retryable is False
    assert mailoutbox == []
    assert not SentEmail.objects.exists()


def test_a_line_break_in_the_subject_cannot_add_headers(send, mailoutbox):
    send(to="a@example.com", subject="Hi\r\nBcc: victim@example.com", body="x")
    [mail] = mailoutbox
    assert mail.subject == "Hi Bcc: victim@example.com"
    assert mail.bcc == []


def test_outlook_style_attachment_keys_are_accepted(send, mailoutbox):
    send(
        to="a@example.com",
        subject="x",
        body="x",
        attachments={"Name": "note.txt", "ContentBytes": base64.b64encode(b"hi").decode()},
    )
    [mail] = mailoutbox
    assert mail.attachments == [("note.txt", "hi", "text/plain")]


def test_sending_is_neither_repeatable_nor_transactional():
    action = find_action("outlook.send_email")
    assert action.repeatable is False
    assert action.transactional is False
    assert action.connector.name == "Office 365 Outlook"
