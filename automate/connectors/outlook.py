"""Office 365 Outlook: send mail through Django's mail backend; every mail is recorded."""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives
from django.core.mail.utils import DNS_NAME
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.html import strip_tags

from automate.connectors._files import FileContent, file_from_dict, megabytes
from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)
from automate.models import SentEmail

MAX_RECIPIENTS = 500
MAX_ATTACHMENTS = 50
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
MAX_MAIL_BYTES = 25 * 1024 * 1024
MAX_SUBJECT_LENGTH = 998  # RFC 5322's line limit, and SentEmail.subject's
IMPORTANCE = ("Low", "Normal", "High")
IMPORTANCE_HEADERS = {
    "High": {"Importance": "High", "X-Priority": "1 (Highest)"},
    "Low": {"Importance": "Low", "X-Priority": "5 (Lowest)"},
    "Normal": {},
}


class SendEmail(ConnectorAction):
    key = "send_email"
    title = "Send an email (V2)"
    description = "Send an email, with attachments from earlier steps."
    inputs = (
        Param("to", "To", "emails", required=True, help="Addresses separated by semicolons."),
        Param("subject", "Subject", required=True),
        Param("body", "Body", "multiline", required=True, help="HTML."),
        Param("cc", "CC", "emails"),
        Param("bcc", "BCC", "emails", advanced=True),
        Param(
            "importance",
            "Importance",
            "choice",
            choices=tuple((i, i) for i in IMPORTANCE),
            default="Normal",
            advanced=True,
        ),
        Param(
            "attachments",
            "Attachments",
            "json",
            help='Files from earlier steps: [{"name": ..., "contentBytes": ...}].',
        ),
    )
    outputs = (
        Output("body/messageId", "Message id"),
        Output("body/to", "To", "json"),
        Output("body/subject", "Subject"),
    )

    def run(self, call: ActionCall) -> dict:
        recorded = SentEmail.objects.filter(step_key=call.idempotency_key).first()
        if recorded is not None:
            return sent_result(recorded)
        message = build_message(call)
        try:
            with transaction.atomic():
                # Recorded before sending: a second worker running this same step (a lease
                # that expired mid-send) finds the row and sends nothing. A mail is
                # better missing, and said to be, than sent twice.
                record = SentEmail.objects.create(
                    company=call.company,
                    flow=call.run.flow,
                    run=call.run,
                    step_key=call.idempotency_key,
                    sender=message.from_email,
                    to=message.to,
                    cc=message.cc,
                    subject=message.subject,
                    body=message.alternatives[0][0],
                    attachment_names=[a[0] for a in message.attachments],
                    message_id=message.extra_headers["Message-ID"],
                )
        except IntegrityError:
            return sent_result(SentEmail.objects.get(step_key=call.idempotency_key))
        try:
            message.send()
        except Exception as error:
            # Nothing went out (the server refused, or was never reached): free the step
            # for a retry.
            record.delete()
            if isinstance(error, SEND_ERRORS):
                raise send_error(error) from None
            raise
        return sent_result(record)


class OutlookConnector(Connector):
    key = "outlook"
    name = "Office 365 Outlook"
    description = "Send email."
    color = "#0078d4"
    actions = (SendEmail,)


def sent_result(record: SentEmail) -> dict:
    return {"body": {"messageId": record.message_id, "to": record.to, "subject": record.subject}}


# -- Building the mail --------------------------------------------------------------------


def build_message(call: ActionCall) -> EmailMultiAlternatives:
    inputs = call.inputs
    to = addresses(inputs.get("to"), "To")
    cc = addresses(inputs.get("cc"), "CC")
    bcc = addresses(inputs.get("bcc"), "BCC")
    if not (to or cc or bcc):
        raise ActionError("Add at least one recipient.")
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise ActionError(f"A mail goes to at most {MAX_RECIPIENTS} recipients.")
    subject = clean_subject(inputs.get("subject"))
    body = inputs.get("body")
    body = "" if body is None else str(body)
    importance = str(inputs.get("importance") or "Normal").capitalize()
    if importance not in IMPORTANCE:
        raise ActionError(f"Importance must be one of {', '.join(IMPORTANCE)}.")
    files = attachments(inputs.get("attachments"))
    headers = {
        "Message-ID": message_id(call.idempotency_key),
        # Tells out-of-office replies and other robots not to answer (RFC 3834).
        "Auto-Submitted": "auto-generated",
        **IMPORTANCE_HEADERS[importance],
    }
    message = EmailMultiAlternatives(
        subject=subject,
        body=plain_text(body),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        cc=cc,
        bcc=bcc,
        headers=headers,
    )
    message.attach_alternative(body, "text/html")
    for file in files:
        message.attach(file.name, file.data, file.content_type)
    return message


def addresses(value: Any, label: str) -> list[str]:
    """Addresses from "a@x.com; b@y.com" or a list; each checked, duplicates dropped."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        items = re.split(r"[;,]", value)
    elif isinstance(value, list):
        items = [str(v) for v in value if v not in (None, "")]
    else:
        raise ActionError(f"{label} must be addresses separated by semicolons, or a list.")
    found: dict[str, str] = {}
    for item in (i.strip() for i in items):
        if not item:
            continue
        if any(ch in item for ch in "\r\n\0"):
            raise ActionError(f"{label}: an address may not contain line breaks.")
        name, address = parseaddr(item)
        try:
            validate_email(address)
        except ValidationError:
            raise ActionError(f"{label}: {item!r} is not a valid email address.") from None
        found.setdefault(address.lower(), formataddr((name, address)) if name else address)
    return list(found.values())


def clean_subject(value: Any) -> str:
    subject = " ".join(str(value or "").split())  # line breaks would end the header
    if not subject:
        raise ActionError("Write a subject.")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise ActionError(f"The subject is longer than {MAX_SUBJECT_LENGTH} characters.")
    return subject


def attachments(value: Any) -> list[FileContent]:
    if value in (None, "", [], {}):
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) > MAX_ATTACHMENTS:
        raise ActionError(f"A mail takes at most {MAX_ATTACHMENTS} attachments.")
    files = []
    total = 0
    for number, item in enumerate(items, start=1):
        file = file_from_dict(item, what=f"Attachment {number}", max_bytes=MAX_ATTACHMENT_BYTES)
        if not file.name:
            raise ActionError(f"Attachment {number} has no name.")
        total += len(file.data)
        if total > MAX_MAIL_BYTES:
            raise ActionError(f"The attachments add up to more than {megabytes(MAX_MAIL_BYTES)}.")
        files.append(file)
    return files


def message_id(idempotency_key: str) -> str:
    """The same for every attempt of one step, so a receiving system can drop duplicates."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or str(DNS_NAME)
    return f"<flow.{digest}@{domain}>"


def plain_text(body: str) -> str:
    """The text part for mail readers that show no HTML."""
    text = re.sub(r"(?i)<br\s*/?>", "\n", body)
    text = re.sub(r"(?i)</(?:p|div|tr|li|h[1-6]|table)>", "\n", text)
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", text)
    text = html.unescape(strip_tags(text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- Sending --------------------------------------------------------------------------------

SEND_ERRORS = (smtplib.SMTPException, OSError, BadHeaderError, ValueError, UnicodeError)


def send_error(error: Exception) -> ActionError:
    """Whether a retry can help: a server that is down or says "try later" (4xx), yes; a
    refused address or a rejected login, no."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        refused = ", ".join(error.recipients)
        return ActionError(
            f"The mail server refused the recipients {refused}.",
            retryable=bool(codes) and all(400 <= c < 500 for c in codes),
        )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return ActionError(
            "The mail server refused our login; ask your administrator to check the email settings."
        )
    if isinstance(error, smtplib.SMTPResponseException):
        reason = error.smtp_error
        if isinstance(reason, bytes):
            reason = reason.decode(errors="replace")
        return ActionError(
            f"The mail server answered {error.smtp_code}: {reason}",
            retryable=400 <= error.smtp_code < 500 or isinstance(error, smtplib.SMTPConnectError),
        )
    if isinstance(error, smtplib.SMTPException | OSError):
        return ActionError(f"The mail server could not be reached: {error}", retryable=True)
    return ActionError(f"The mail could not be built: {error}")
