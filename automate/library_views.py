"""Downloading a document from the Documents page."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_safe

from automate.library_pages import visible_documents
from automate.models import Document
from bcsite.views import company_required

MISSING_CONTENT = "The content of this document is missing."


def _get_document_for_user(request: HttpRequest, pk: int) -> Document:
    """Another company's document, or one of a flow the user may not see, does not exist."""
    document = visible_documents(request).filter(pk=pk).first()
    if document is None:
        raise Http404("No document matches the given query.")
    return document


@require_safe
@company_required
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    document = _get_document_for_user(request, pk)
    # A row saved without a file (by a data load, say) has nothing to send, like a lost file.
    if not document.file:
        raise Http404(MISSING_CONTENT)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404(MISSING_CONTENT) from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type or "application/octet-stream",
    )
