"""What flows leave behind, as lists: the mails they sent and the documents they wrote.

A user sees the rows of the company they work in, and of those only their own: the mails
of the flows they own, the documents they created (documents created outside flows are
everyone's in the company). Administrators see all. Both rows keep their flow after the
run is pruned, so who sees them never depends on the run. Imported by
``AutomateConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.http import HttpRequest
from django.urls import reverse

from automate.access import is_company_admin, request_automate_refusal
from automate.models import Document, FlowShare, SentEmail
from automate.services.documents import documents_visible_to
from bcsite.pages.base import Column, Filter, ListPage
from bcsite.registry import registry

NAV_GROUP = "Power Automate"


def sent_emails_visible_to(
    *, user: Any, company: Any, sees_all: bool
) -> models.QuerySet[SentEmail]:
    """The mails of the runs the user may see (as ``runs_for``): every mail of the flows
    they own or co-own, and the mails of their own runs of flows shared with them to run.
    A mail whose flow was deleted has no owner left: only administrators see it."""
    emails = SentEmail.objects.filter(company=company)
    if sees_all:
        return emails
    shares = FlowShare.objects.filter(user=user)
    co_owned = shares.filter(role=FlowShare.Role.CO_OWNER).values("flow_id")
    run_only = shares.filter(role=FlowShare.Role.RUN_ONLY).values("flow_id")
    return emails.filter(
        Q(flow__owner=user) | Q(flow__in=co_owned) | Q(flow__in=run_only, run__triggered_by=user)
    )


def _sent_emails(request: HttpRequest) -> models.QuerySet:
    return sent_emails_visible_to(
        user=request.user, company=request.company, sees_all=is_company_admin(request)
    )


def visible_documents(request: HttpRequest) -> models.QuerySet:
    return documents_visible_to(
        user=request.user, company=request.company, sees_all=is_company_admin(request)
    )


def _flow_text(row: Any) -> str:
    if row.flow is None:
        return ""
    return f"{row.flow.name} (run {row.run_id})" if row.run_id else row.flow.name


def _run_url(row: Any) -> str | None:
    return reverse("automate:run-detail", args=[row.run_id]) if row.run_id else None


def _download_url(document: Document) -> str:
    return reverse("automate:document-download", args=[document.pk])


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1024
        if size < 1024 or unit == "GB":
            return f"{size:,.1f} {unit}"
    raise AssertionError("unreachable")


def _automate_allowed(request: HttpRequest) -> bool:
    """What flows left behind is Power Automate's: off for the user, off here too."""
    return request_automate_refusal(request) is None


FLOW_COLUMN = Column("flow", label="Flow", value=_flow_text, link=_run_url, sortable=False)

sent_email_list = registry.register_page(
    ListPage(
        key="sent_email_list",
        title="Sent Emails",
        model=SentEmail,
        slug="sent-emails",
        permission=_automate_allowed,
        nav_group=NAV_GROUP,
        nav_order=60,
        queryset_for=_sent_emails,
        select_related=["flow"],
        columns=[
            Column("sent_at", label="Sent"),
            Column("to", label="To", value=lambda m: "; ".join(m.to), sortable=False),
            Column("subject"),
            FLOW_COLUMN,
            Column(
                "attachment_names",
                label="Attachments",
                value=lambda m: ", ".join(m.attachment_names),
                sortable=False,
            ),
        ],
        search_fields=["subject"],
        filters=[Filter("subject"), Filter("sent_at", label="Sent")],
        default_sort="-sent_at",
    )
)

document_list = registry.register_page(
    ListPage(
        key="document_list",
        title="Documents",
        model=Document,
        slug="documents",
        permission=_automate_allowed,
        nav_group=NAV_GROUP,
        nav_order=70,
        queryset_for=visible_documents,
        select_related=["created_by", "flow"],
        columns=[
            Column("library"),
            Column("folder"),
            Column("name", link=_download_url),
            Column("size", value=lambda d: human_size(d.size), numeric=True),
            Column("modified_at", label="Modified"),
            Column("created_by__username", label="Created by"),
            FLOW_COLUMN,
        ],
        search_fields=["name", "folder"],
        filters=[Filter("library"), Filter("folder"), Filter("name")],
        default_sort="-modified_at",
    )
)
