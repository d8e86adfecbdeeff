"""SharePoint: create, read and list files in document libraries (``Document`` rows)."""

from __future__ import annotations

from automate.connectors._files import FileContent, clean_name, content_from_input, guess_type
from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)
from automate.services.documents import (
    DEFAULT_LIBRARY,
    clean_folder,
    clean_library,
    document_find,
    document_read,
    document_summary,
    document_write,
    documents_visible_to,
)

MAX_LISTED = 5000

LIBRARY_PARAM = Param("library", "Library", default=DEFAULT_LIBRARY, help="Documents by default.")
FOLDER_PARAM = Param("folder", "Folder path", help="Relative to the library, e.g. Reports/2024.")
FILE_OUTPUTS = (
    Output("body/id", "File id"),
    Output("body/name", "File name"),
    Output("body/path", "File path"),
    Output("body/size", "Size", "integer"),
)


class CreateFile(ConnectorAction):
    key = "create_file"
    title = "Create file"
    description = "Create a file in a document library."
    inputs = (
        LIBRARY_PARAM,
        FOLDER_PARAM,
        Param("name", "File name", required=True),
        Param(
            "content",
            "File content",
            "json",
            required=True,
            help="Text, or a file from an earlier step (Create workbook, Get file content).",
        ),
        Param("overwrite", "Overwrite", "boolean", default=False, advanced=True),
    )
    outputs = FILE_OUTPUTS
    transactional = True

    def run(self, call: ActionCall) -> dict:
        inputs = call.inputs
        library = clean_library(inputs.get("library"))
        folder = clean_folder(inputs.get("folder"))
        name = clean_name(inputs.get("name"))
        file = content_from_input(inputs.get("content"), name=name)
        document = document_write(
            company=call.company,
            user=call.user,
            flow=call.run.flow,
            run=call.run,
            library=library,
            folder=folder,
            file=file,
            storage_key=call.idempotency_key,
            overwrite=inputs.get("overwrite") is True,
        )
        return {
            "body": {**document_summary(document=document), "contentType": document.content_type}
        }


class GetFileContent(ConnectorAction):
    key = "get_file_content"
    title = "Get file content"
    description = "Get a file's content, by its path or its id."
    inputs = (
        Param("path", "File path", help="/Documents/Reports/lines.xlsx"),
        Param("id", "File id", help="The id that Create file or List folder returned."),
    )
    outputs = (
        Output("body/name", "File name"),
        Output("body/contentBytes", "File content"),
        Output("body/contentType", "Content type"),
    )
    repeatable = True

    def run(self, call: ActionCall) -> dict:
        path, document_id = call.inputs.get("path"), call.inputs.get("id")
        if path in (None, "") and document_id in (None, ""):
            raise ActionError("Give the file's path or its id.")
        document = document_find(
            company=call.company, user=call.user, path=path, document_id=document_id
        )
        file = FileContent(document.name, document_read(document=document), document.content_type)
        if not file.content_type:
            file = FileContent(file.name, file.data, guess_type(file.name))
        return {
            "body": {
                **file.as_dict(),
                "id": str(document.system_id),
                "path": document.path,
                "size": len(file.data),
            }
        }


class ListFolder(ConnectorAction):
    key = "list_folder"
    title = "List folder"
    description = "List the files and folders in a folder of a document library."
    inputs = (LIBRARY_PARAM, FOLDER_PARAM)
    outputs = (Output("body/value", "Files", "json"),)
    repeatable = True

    def run(self, call: ActionCall) -> dict:
        library = clean_library(call.inputs.get("library"))
        folder = clean_folder(call.inputs.get("folder"))
        documents = documents_visible_to(user=call.user, company=call.company).filter(
            library__iexact=library
        )
        files = documents.filter(folder__iexact=folder).order_by("name", "pk")[:MAX_LISTED]
        below = documents.filter(folder__istartswith=f"{folder}/") if folder else documents
        subfolders = sorted(
            {
                f[len(folder) + 1 :].split("/", 1)[0] if folder else f.split("/", 1)[0]
                for f in below.exclude(folder="").values_list("folder", flat=True).distinct()
            },
            key=str.lower,
        )
        prefix = "/".join(p for p in (library, folder) if p)
        value = [
            {
                "id": None,
                "name": name,
                "path": f"/{prefix}/{name}",
                "size": 0,
                "modified": None,
                "isFolder": True,
            }
            for name in subfolders
        ]
        value.extend(document_summary(document=d) for d in files)
        return {"body": {"value": value}}


class SharePointConnector(Connector):
    key = "sharepoint"
    name = "SharePoint"
    description = "Create, read and list files in document libraries."
    color = "#036c70"
    actions = (CreateFile, GetFileContent, ListFolder)
