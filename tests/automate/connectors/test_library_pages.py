"""The Sent Emails and Documents pages, and downloading a document."""

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

import automate.library_pages  # noqa: F401  (registers the pages)
from automate.models import Document, SentEmail
from tests.automate.conftest import make_flow_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


@pytest.fixture
def runs(company, sales, colleague):
    return {
        "mine": make_flow_run(company=company, owner=sales, name="Notify customer"),
        "theirs": make_flow_run(company=company, owner=colleague, name="Colleague flow"),
    }


def mail(run, subject, **fields):
    return SentEmail.objects.create(
        company=run.company,
        flow=run.flow,
        run=run,
        step_key=f"{run.system_id}:{subject}",
        sender="flows@cronus.example",
        to=["anna@example.com", "ben@example.com"],
        subject=subject,
        attachment_names=["lines.xlsx"],
        **fields,
    )


def document(company, name, *, run=None, user=None, content=b"data"):
    return Document.objects.create(
        company=company,
        folder="Reports",
        name=name,
        file=ContentFile(content, name=name),
        size=len(content),
        content_type="text/plain",
        created_by=user,
        flow=run.flow if run else None,
        run=run,
    )


def test_sent_emails_lists_the_users_own_flows_mails(sales_client, runs):
    mail(runs["mine"], "Order S-1 released")
    mail(runs["theirs"], "Colleague's secret mail")
    response = sales_client.get("/sent-emails/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Order S-1 released" in html
    assert "anna@example.com; ben@example.com" in html
    assert "lines.xlsx" in html
    assert "Notify customer" in html
    assert reverse("automate:run-detail", args=[runs["mine"].pk]) in html
    assert "Colleague&#x27;s secret mail" not in html and "secret mail" not in html


def test_an_administrator_sees_every_mail_of_the_company(client, admin_user, runs):
    mail(runs["mine"], "Order S-1 released")
    mail(runs["theirs"], "Colleague mail")
    client.force_login(admin_user)
    html = client.get("/sent-emails/").content.decode()
    assert "Order S-1 released" in html
    assert "Colleague mail" in html


def test_another_companys_user_sees_none_of_its_mails(outsider_client, runs):
    mail(runs["mine"], "Order S-1 released")
    response = outsider_client.get("/sent-emails/")
    assert response.status_code == 200
    assert "Order S-1 released" not in response.content.decode()


def test_a_mail_of_a_pruned_run_stays_visible_to_its_flows_owner(sales_client, runs):
    sent = mail(runs["mine"], "Order S-1 released")
    run_url = reverse("automate:run-detail", args=[runs["mine"].pk])
    runs["mine"].delete()
    sent.refresh_from_db()
    assert (sent.run, sent.flow) == (None, runs["mine"].flow)
    html = sales_client.get("/sent-emails/").content.decode()
    assert "Order S-1 released" in html
    assert "Notify customer" in html
    assert "(run " not in html
    assert run_url not in html


def test_a_mail_of_a_pruned_run_stays_hidden_from_other_users(sales_client, runs):
    mail(runs["theirs"], "Colleague mail")
    runs["theirs"].delete()
    assert "Colleague mail" not in sales_client.get("/sent-emails/").content.decode()


def test_a_mail_of_a_deleted_flow_is_seen_by_administrators_only(
    sales_client, client, admin_user, runs
):
    sent = mail(runs["mine"], "Order S-1 released")
    flow = runs["mine"].flow
    runs["mine"].delete()
    # Runs and the flow itself protect the flow's versions.
    flow.current_version = None
    flow.save(update_fields=["current_version"])
    flow.delete()
    sent.refresh_from_db()
    assert (sent.flow, sent.run) == (None, None)
    assert "Order S-1 released" not in sales_client.get("/sent-emails/").content.decode()
    client.force_login(admin_user)
    assert "Order S-1 released" in client.get("/sent-emails/").content.decode()


def test_anonymous_users_are_sent_to_sign_in(client):
    for url in ("/sent-emails/", "/documents/"):
        response = client.get(url)
        assert response.status_code == 302
        assert "/accounts/login/" in response["Location"]


def test_documents_lists_own_and_shared_documents(sales_client, runs, company, sales, colleague):
    document(company, "mine.txt", run=runs["mine"], user=sales)
    document(company, "theirs.txt", run=runs["theirs"], user=colleague)
    document(company, "their-upload.txt", user=colleague)
    shared = document(company, "uploaded.txt")
    html = sales_client.get("/documents/").content.decode()
    assert "mine.txt" in html
    assert "uploaded.txt" in html
    assert "theirs.txt" not in html
    assert "their-upload.txt" not in html
    assert reverse("automate:document-download", args=[shared.pk]) in html
    assert f"Notify customer (run {runs['mine'].pk})" in html
    assert reverse("automate:run-detail", args=[runs["mine"].pk]) in html


def test_a_document_of_a_pruned_run_stays_hidden_from_other_users(
    sales_client, runs, company, colleague
):
    theirs = document(company, "theirs.txt", run=runs["theirs"], user=colleague)
    runs["theirs"].delete()
    theirs.refresh_from_db()
    assert theirs.run is None
    assert "theirs.txt" not in sales_client.get("/documents/").content.decode()
    url = reverse("automate:document-download", args=[theirs.pk])
    assert sales_client.get(url).status_code == 404


def test_a_document_of_a_pruned_run_stays_visible_to_its_creator(
    sales_client, runs, company, sales
):
    mine = document(company, "mine.txt", run=runs["mine"], user=sales)
    runs["mine"].delete()
    html = sales_client.get("/documents/").content.decode()
    assert "mine.txt" in html
    assert "Notify customer" in html
    assert "(run " not in html
    url = reverse("automate:document-download", args=[mine.pk])
    assert sales_client.get(url).status_code == 200


def test_an_administrator_sees_every_document(client, admin_user, runs, company, colleague):
    document(company, "theirs.txt", run=runs["theirs"], user=colleague)
    client.force_login(admin_user)
    assert "theirs.txt" in client.get("/documents/").content.decode()


def test_the_lists_query_count_does_not_grow_with_rows(sales_client, runs, company, sales):
    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert sales_client.get(url).status_code == 200
        return len(queries)

    mail(runs["mine"], "First")
    document(company, "first.txt", run=runs["mine"], user=sales)
    few = count("/sent-emails/"), count("/documents/")
    for number in range(6):
        run = make_flow_run(company=company, owner=sales, name=f"Flow {number}")
        mail(run, f"Mail {number}")
        document(company, f"file{number}.txt", run=run, user=sales)
        if number % 2:
            run.delete()  # rows of pruned runs show their flow all the same
    assert (count("/sent-emails/"), count("/documents/")) == few


def test_a_document_downloads_as_an_attachment(sales_client, runs, company, sales):
    doc = document(company, "Résumé 2024.txt", run=runs["mine"], user=sales, content=b"hello")
    response = sales_client.get(reverse("automate:document-download", args=[doc.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"hello"
    assert response["Content-Type"] == "text/plain"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "R%C3%A9sum%C3%A9%202024.txt" in response["Content-Disposition"]


def test_download_refuses_what_the_user_may_not_see(
    sales_client, runs, company, colleague, other_company, outsider
):
    theirs = document(company, "theirs.txt", run=runs["theirs"], user=colleague)
    other = document(other_company, "other.txt", user=outsider)
    for doc in (theirs, other):
        url = reverse("automate:document-download", args=[doc.pk])
        assert sales_client.get(url).status_code == 404


def test_download_refuses_anonymous_users_and_writes(client, sales, company):
    doc = document(company, "shared.txt")
    url = reverse("automate:document-download", args=[doc.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    client.force_login(sales)
    assert client.post(url).status_code == 405
    assert client.get(url).status_code == 200


def test_a_document_whose_file_is_gone_is_a_404(sales_client, company, media):
    doc = document(company, "gone.txt")
    doc.file.storage.delete(doc.file.name)
    url = reverse("automate:document-download", args=[doc.pk])
    assert sales_client.get(url).status_code == 404
