"""SharePoint: files in document libraries on Django's storage."""

import base64

import pytest
from django.core.files.base import ContentFile

from automate.connectors import find_action
from automate.connectors.base import ActionError
from automate.models import Document
from tests.automate.conftest import make_flow_run

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def create(action_call, step_name="Create", **inputs):
    return find_action("sharepoint.create_file").run(action_call(inputs, step_name=step_name))


def get(action_call, **inputs):
    return find_action("sharepoint.get_file_content").run(action_call(inputs))["body"]


def listing(action_call, **inputs):
    return find_action("sharepoint.list_folder").run(action_call(inputs))["body"]["value"]


def test_create_get_and_list_a_text_file(action_call, flow_run, sales, media):
    body = create(action_call, folder="Reports/2024", name="notes.txt", content="Héllo")["body"]
    document = Document.objects.get()
    assert (document.company, document.flow, document.run, document.created_by) == (
        flow_run.company,
        flow_run.flow,
        flow_run,
        sales,
    )
    assert (document.library, document.folder, document.name) == (
        "Documents",
        "Reports/2024",
        "notes.txt",
    )
    assert document.size == len("Héllo".encode())
    assert document.content_type == "text/plain"
    assert (media / document.file.name).read_bytes() == "Héllo".encode()
    assert body["path"] == "/Documents/Reports/2024/notes.txt"
    assert body["id"] == str(document.system_id)

    by_path = get(action_call, path="/Documents/Reports/2024/notes.txt")
    by_id = get(action_call, id=body["id"])
    for file in (by_path, by_id):
        assert file["name"] == "notes.txt"
        assert base64.b64decode(file["contentBytes"]) == "Héllo".encode()
        assert file["contentType"] == "text/plain"

    assert listing(action_call, folder="Reports/2024") == [
        {
            "id": body["id"],
            "name": "notes.txt",
            "path": "/Documents/Reports/2024/notes.txt",
            "size": document.size,
            "modified": document.modified_at.isoformat(),
            "isFolder": False,
        }
    ]
    [folder] = listing(action_call, folder="Reports")
    assert (folder["name"], folder["path"], folder["isFolder"]) == (
        "2024",
        "/Documents/Reports/2024",
        True,
    )
    assert [e["name"] for e in listing(action_call)] == ["Reports"]
    assert listing(action_call, library="Other") == []


def test_a_file_from_an_earlier_step_is_stored_as_is(action_call):
    data = bytes(range(256))
    file = {
        "name": "whatever.bin",
        "contentBytes": base64.b64encode(data).decode(),
        "contentType": "application/x-custom",
    }
    create(action_call, library="Shared", name="data.bin", content=file)
    document = Document.objects.get()
    assert document.library == "Shared"
    assert document.content_type == "application/x-custom"
    assert base64.b64decode(get(action_call, path="/Shared/data.bin")["contentBytes"]) == data


def test_the_same_name_in_the_same_folder_is_refused_unless_overwrite(
    action_call, media, django_capture_on_commit_callbacks
):
    create(action_call, name="a.txt", content="one")
    with pytest.raises(ActionError, match="already exists in /Documents; choose another name"):
        create(action_call, step_name="Again", name="A.TXT", content="two")
    old_file = Document.objects.get().file.name
    with django_capture_on_commit_callbacks(execute=True):
        create(action_call, step_name="Replace", name="a.txt", content="two", overwrite=True)
    document = Document.objects.get()
    assert document.file.read() == b"two"
    assert not (media / old_file).exists()
    assert Document.objects.count() == 1


def test_running_a_step_again_rewrites_its_own_file(action_call, media):
    create(action_call, name="a.txt", content="one")
    document = Document.objects.get()
    stored = media / document.file.name
    Document.objects.all().delete()  # as a rolled-back transaction would leave it
    create(action_call, name="a.txt", content="again")
    assert Document.objects.get().file.name == document.file.name
    assert stored.read_bytes() == b"again"
    assert len(list((media / "documents").rglob("*"))) == 2  # the company's folder and the file


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"folder": "../secrets", "name": "x.txt"}, "'.' or '..'"),
        ({"folder": "Reports/../../etc", "name": "x.txt"}, "'.' or '..'"),
        ({"folder": "/etc", "name": "x.txt"}, "is absolute"),
        ({"folder": "C:/Windows", "name": "x.txt"}, "outside the document libraries"),
        ({"folder": "a\\b", "name": "x.txt"}, "backslashes"),
        ({"folder": "a//b", "name": "x.txt"}, "empty folder name"),
        ({"folder": "Rep\x00orts", "name": "x.txt"}, "control characters"),
        ({"name": "../x.txt"}, "may not contain /"),
        ({"name": "a\nb.txt"}, "control characters"),
        ({"name": "..", "folder": ""}, "may not be '..'"),
        ({"name": "x" * 256}, "longer than 255"),
        ({"name": "a<b>.txt"}, "may not contain < >"),
        ({"library": "Docs/Other", "name": "x.txt"}, "may not contain /"),
    ],
)
def test_unsafe_paths_are_refused(action_call, inputs, message):
    with pytest.raises(ActionError, match=message):
        create(action_call, content="x", **inputs)
    assert not Document.objects.exists()


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/Documents/../x.txt", "'.' or '..'"),
        ("x.txt", "needs a library and a file name"),
        ("\\\\server\\share\\x.txt", "backslashes"),
        ("//Documents/x.txt", "outside the document libraries"),
        ("/Documents/missing.txt", "There is no file at /Documents/missing.txt"),
    ],
)
def test_get_file_content_refuses_bad_or_unknown_paths(action_call, path, message):
    with pytest.raises(ActionError, match=message):
        get(action_call, path=path)


def test_an_oversized_file_is_refused(action_call):
    big = {
        "name": "big.bin",
        "contentBytes": base64.b64encode(b"x" * (10 * 1024 * 1024 + 1)).decode(),
    }
    with pytest.raises(ActionError, match="larger than 10 MB"):
        create(action_call, name="big.bin", content=big)


def test_bad_base64_is_refused(action_call):
    with pytest.raises(ActionError, match="not valid base64"):
        create(action_call, name="x.bin", content={"name": "x", "contentBytes": "%%%"})


def test_another_companys_documents_do_not_exist_for_a_flow(action_call, other_company, outsider):
    Document.objects.create(
        company=other_company,
        name="theirs.txt",
        file=ContentFile(b"secret", name="theirs.txt"),
        size=6,
        created_by=outsider,
    )
    with pytest.raises(ActionError, match="There is no file"):
        get(action_call, path="/Documents/theirs.txt")
    assert listing(action_call) == []
    create(action_call, name="theirs.txt", content="ours")  # no clash across companies
    assert Document.objects.filter(name="theirs.txt").count() == 2


def test_a_flow_reads_only_what_its_owner_may_see(action_call, company, colleague):
    colleague_run = make_flow_run(company=company, owner=colleague, name="Colleague's flow")
    Document.objects.create(
        company=company,
        name="private.txt",
        file=ContentFile(b"theirs", name="private.txt"),
        size=6,
        created_by=colleague,
        flow=colleague_run.flow,
        run=colleague_run,
    )
    Document.objects.create(
        company=company,
        name="shared.txt",
        file=ContentFile(b"everyone's", name="shared.txt"),
        size=10,
        created_by=None,
    )
    assert [e["name"] for e in listing(action_call)] == ["shared.txt"]
    with pytest.raises(ActionError, match="There is no file"):
        get(action_call, path="/Documents/private.txt")
    with pytest.raises(ActionError, match="belongs to another user"):
        create(action_call, name="private.txt", content="mine", overwrite=True)
    assert Document.objects.get(name="private.txt").file.read() == b"theirs"


def test_a_document_stays_private_after_its_run_is_pruned(action_call, company, colleague):
    colleague_run = make_flow_run(company=company, owner=colleague, name="Colleague's flow")
    private = Document.objects.create(
        company=company,
        name="private.txt",
        file=ContentFile(b"theirs", name="private.txt"),
        size=6,
        created_by=colleague,
        flow=colleague_run.flow,
        run=colleague_run,
    )
    colleague_run.delete()
    private.refresh_from_db()
    assert private.run is None
    assert listing(action_call) == []
    with pytest.raises(ActionError, match="No file has the id"):
        get(action_call, id=str(private.system_id))


def test_a_flow_reads_its_owners_documents_after_their_runs_are_pruned(action_call, flow_run):
    create(action_call, name="mine.txt", content="kept")
    flow = flow_run.flow
    flow_run.delete()
    document = Document.objects.get()
    assert (document.run, document.flow) == (None, flow)
    assert base64.b64decode(get(action_call, path="/Documents/mine.txt")["contentBytes"]) == (
        b"kept"
    )


def test_the_actions_declare_what_repeating_them_does():
    assert find_action("sharepoint.create_file").transactional is True
    assert find_action("sharepoint.get_file_content").repeatable is True
    assert find_action("sharepoint.list_folder").repeatable is True
