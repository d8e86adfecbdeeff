"""Documents: files in the company's document libraries, kept on Django's storage.

Paths read as ``/Library/folder/sub/name.ext``. A user sees the documents they created
(through their flows) and those created outside flows; administrators see all. A flow
acts for its owner, so it reads what its owner could read, and no more. Visibility never
goes through the run: runs are pruned, documents stay.
"""

from __future__ import annotations

import hashlib
import posixpath
import unicodedata
import uuid
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, models, transaction

from automate.connectors._files import (
    MAX_FILE_BYTES,
    FileContent,
    clean_name,
    megabytes,
)
from automate.connectors.base import ActionError
from automate.models import Document, Flow, FlowRun
from records.models import Company, Membership

MAX_LIBRARY_LENGTH = 120
MAX_FOLDER_LENGTH = 400
DEFAULT_LIBRARY = "Documents"


# -- Paths --------------------------------------------------------------------------------


def clean_library(value: Any) -> str:
    if value in (None, ""):
        return DEFAULT_LIBRARY
    return clean_name(value, what="The library name", max_length=MAX_LIBRARY_LENGTH)


def clean_folder(value: Any) -> str:
    """A folder inside a library: ``Reports/2024``, relative, without ``..``."""
    if value in (None, "", "/"):
        return ""
    if not isinstance(value, str):
        raise ActionError("The folder path must be text, e.g. Reports/2024.")
    text = value.strip()
    _refuse_unsafe_path(text, what="The folder path")
    if text.startswith("/"):
        raise ActionError(
            f"The folder path {text!r} is absolute; give it relative to the library, "
            "e.g. Reports/2024."
        )
    parts = text.rstrip("/").split("/")
    folder = "/".join(clean_name(p, what="A folder name in the path") for p in parts)
    if len(folder) > MAX_FOLDER_LENGTH:
        raise ActionError(f"The folder path is longer than {MAX_FOLDER_LENGTH} characters.")
    return folder


def split_path(value: Any) -> tuple[str, str, str]:
    """``/Library/folder/sub/name.ext`` as (library, folder, name)."""
    if not isinstance(value, str) or not value.strip():
        raise ActionError("Give the file's path, e.g. /Documents/Reports/lines.xlsx.")
    text = value.strip()
    _refuse_unsafe_path(text, what="The file path")
    parts = text.removeprefix("/").split("/")
    if len(parts) < 2:
        raise ActionError(
            f"The file path {text!r} needs a library and a file name, e.g. /Documents/lines.xlsx."
        )
    library = clean_library(parts[0])
    folder = clean_folder("/".join(parts[1:-1]))
    return library, folder, clean_name(parts[-1])


def _refuse_unsafe_path(text: str, *, what: str) -> None:
    if "\\" in text:
        raise ActionError(f"{what} may not contain backslashes; separate folders with /.")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ActionError(f"{what} may not contain control characters.")
    segments = text.split("/")
    if any(s.strip() in (".", "..") for s in segments):
        raise ActionError(f"{what} may not contain '.' or '..' segments.")
    if text.startswith("//") or (len(text) > 1 and text[1] == ":"):
        raise ActionError(f"{what} {text!r} points outside the document libraries.")
    if "//" in text.strip("/"):
        raise ActionError(f"{what} {text!r} has an empty folder name.")


# -- Who sees which documents ---------------------------------------------------------------


def sees_every_flow(*, user: Any, company: Company) -> bool:
    """Administrators of the company see every flow's mails and documents: the rule of
    ``automate.access.is_company_admin``, for a flow's owner where there is no request."""
    if user is None or not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        user=user, company=company, role=Membership.Role.ADMIN
    ).exists()


def documents_visible_to(
    *, user: Any, company: Company, sees_all: bool | None = None
) -> models.QuerySet[Document]:
    """The company's documents ``user`` may see; ``sees_all`` is worked out when not given."""
    documents = Document.objects.filter(company=company)
    if sees_all is None:
        sees_all = sees_every_flow(user=user, company=company)
    if sees_all:
        return documents
    outside_flows = models.Q(created_by__isnull=True)
    if user is None or not user.is_authenticated:
        return documents.filter(outside_flows)
    return documents.filter(outside_flows | models.Q(created_by=user))


def document_find(
    *, company: Company, user: Any, path: Any = None, document_id: Any = None
) -> Document:
    documents = documents_visible_to(user=user, company=company)
    if document_id not in (None, ""):
        found = documents.filter(system_id=_uuid(document_id)).first()
        if found is None:
            raise ActionError(f"No file has the id {document_id}.", code="NotFound")
        return found
    library, folder, name = split_path(path)
    found = documents.filter(
        library__iexact=library, folder__iexact=folder, name__iexact=name
    ).first()
    if found is None:
        raise ActionError(f"There is no file at {path}.", code="NotFound")
    return found


def document_read(*, document: Document) -> bytes:
    if document.size > MAX_FILE_BYTES:
        raise ActionError(f"{document.path} is larger than {megabytes(MAX_FILE_BYTES)}.")
    try:
        with document.file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ActionError(f"The content of {document.path} is missing from storage.") from None
    if len(data) > MAX_FILE_BYTES:
        raise ActionError(f"{document.path} is larger than {megabytes(MAX_FILE_BYTES)}.")
    return data


def document_summary(*, document: Document) -> dict:
    return {
        "id": str(document.system_id),
        "name": document.name,
        "path": document.path,
        "size": document.size,
        "modified": document.modified_at.isoformat(),
        "isFolder": False,
    }


def _uuid(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise ActionError(f"{value!r} is not a file id.") from None


# -- Writing documents ----------------------------------------------------------------------


def document_write(
    *,
    company: Company,
    user: Any,
    flow: Flow | None,
    run: FlowRun | None,
    library: str,
    folder: str,
    file: FileContent,
    storage_key: str,
    overwrite: bool = False,
) -> Document:
    """Create the document ``library/folder/file.name``, or replace its content.

    The file goes to storage under a name derived from ``storage_key`` (the step's
    idempotency key), so a step that runs again overwrites its own file instead of
    leaving a second one; the row is written in a transaction, so a rollback leaves none.
    """
    with transaction.atomic():
        existing = (
            Document.objects.select_for_update()
            .filter(company=company, library__iexact=library, folder__iexact=folder)
            .filter(name__iexact=file.name)
            .first()
        )
        if existing is not None:
            if not overwrite:
                where = existing.path.rsplit("/", 1)[0]
                raise ActionError(
                    f"A file named {existing.name} already exists in {where}; choose another "
                    "name, or set Overwrite to replace it.",
                    code="AlreadyExists",
                )
            visible = documents_visible_to(user=user, company=company)
            if not visible.filter(pk=existing.pk).exists():
                raise ActionError(
                    f"A file named {existing.name} already exists there and belongs to another "
                    "user; choose another name.",
                    code="AlreadyExists",
                )
            return document_replace_content(document=existing, file=file, storage_key=storage_key)
        stored = _store(company=company, file=file, storage_key=storage_key)
        document = Document(
            company=company,
            library=library,
            folder=folder,
            name=file.name,
            size=len(file.data),
            content_type=file.content_type[:120],
            created_by=user,
            flow=flow,
            run=run,
        )
        document.file.name = stored
        try:
            with transaction.atomic():
                document.save()
        except IntegrityError:
            raise ActionError(
                f"A file named {file.name} was just created in the same folder; try again.",
                retryable=True,
            ) from None
    return document


def document_replace_content(
    *, document: Document, file: FileContent, storage_key: str
) -> Document:
    """Point ``document`` at new content. The old file is removed once the change commits;
    until then (and for good after a rollback) the row keeps pointing at it."""
    old_name = document.file.name
    stored = _store(company=document.company, file=file, storage_key=storage_key)
    document.file.name = stored
    document.size = len(file.data)
    document.content_type = file.content_type[:120]
    document.save(update_fields=["file", "size", "content_type", "modified_at"])
    if old_name and old_name != stored:
        storage = document.file.storage
        transaction.on_commit(lambda: storage.delete(old_name))
    return document


def _store(*, company: Company, file: FileContent, storage_key: str) -> str:
    storage = Document._meta.get_field("file").storage
    digest = hashlib.sha256(f"{company.pk}:{storage_key}".encode()).hexdigest()[:32]
    extension = posixpath.splitext(file.name)[1].lower()
    if len(extension) > 12 or not extension[1:].isalnum():
        extension = ""
    name = f"documents/{company.pk}/{digest}{extension}"
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, ContentFile(file.data))
