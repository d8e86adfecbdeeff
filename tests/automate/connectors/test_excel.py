"""Excel: create a workbook with a table, read it back, add rows, list them."""

import base64
import datetime
import io
import re
import zipfile

import openpyxl
import pytest

from automate.connectors import find_action
from automate.connectors.base import ActionError
from automate.connectors.excel import XLSX_CONTENT_TYPE
from automate.models import Document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]

ROWS = [
    {"No.": "S-1001", "Customer": "Adatum", "Amount": 1250.5, "Lines": 3, "Date": "2024-05-01"},
    {"No.": "S-1002", "Customer": "Trey", "Amount": 80, "Lines": 1, "Date": "2024-05-02"},
]


def run(action_call, key, step_name="Step", **inputs):
    return find_action(f"excel.{key}").run(action_call(inputs, step_name=step_name))


def workbook_of(file: dict) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(base64.b64decode(file["contentBytes"])))


def test_create_workbook_builds_a_real_excel_table(action_call):
    body = run(action_call, "create_workbook", rows=ROWS, table_name="Orders", file_name="orders")
    assert body["body"]["name"] == "orders.xlsx"
    assert body["body"]["contentType"] == XLSX_CONTENT_TYPE
    assert body["body"]["rowCount"] == 2
    ws = workbook_of(body["body"]).active
    assert ws.title == "Sheet1"
    table = ws.tables["Orders"]
    assert table.ref == "A1:E3"
    assert [c.name for c in table.tableColumns] == ["No.", "Customer", "Amount", "Lines", "Date"]
    assert [c.value for c in ws[1]] == ["No.", "Customer", "Amount", "Lines", "Date"]
    assert ws["C2"].value == 1250.5
    assert ws["D2"].value == 3
    assert ws["E2"].value == datetime.datetime(2024, 5, 1)
    assert ws["E2"].is_date


def test_rows_as_lists_need_headers(action_call):
    with pytest.raises(ActionError, match="need the headers"):
        run(action_call, "create_workbook", rows=[["a", 1]])
    body = run(
        action_call,
        "create_workbook",
        rows=[["a", 1], ["b"]],
        headers=["Code", "Qty"],
        sheet_name="Data",
    )["body"]
    ws = workbook_of(body)["Data"]
    assert [[c.value for c in row] for row in ws.iter_rows()] == [
        ["Code", "Qty"],
        ["a", 1],
        ["b", None],
    ]


def test_text_that_looks_like_a_formula_stays_text(action_call):
    rows = [{"Name": '=HYPERLINK("http://evil.example","click")', "Note": "+1-555"}]
    ws = workbook_of(run(action_call, "create_workbook", rows=rows)["body"]).active
    assert ws["A2"].data_type == "s"
    assert ws["A2"].value == '=HYPERLINK("http://evil.example","click")'
    raw = zipfile.ZipFile(
        io.BytesIO(
            base64.b64decode(run(action_call, "create_workbook", rows=rows)["body"]["contentBytes"])
        )
    ).read("xl/worksheets/sheet1.xml")
    assert b"<f>" not in raw


def test_a_datetime_with_a_time_zone_keeps_its_time(action_call, settings):
    settings.TIME_ZONE = "UTC"
    rows = [{"At": "2024-05-01T10:30:00Z"}]
    ws = workbook_of(run(action_call, "create_workbook", rows=rows)["body"]).active
    assert ws["A2"].value == datetime.datetime(2024, 5, 1, 10, 30)


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"rows": "nope"}, "list of objects or of lists"),
        ({"rows": [{"a": 1}, ["b"]]}, "all be objects, or all be lists"),
        ({"rows": [], "headers": None}, "headers of an empty table"),
        ({"rows": [{"a": 1}], "table_name": "My Table"}, "cannot name an Excel table"),
        ({"rows": [{"a": 1}], "table_name": "A1"}, "cannot name an Excel table"),
        ({"rows": [{"a": 1}], "sheet_name": "a/b"}, "sheet name"),
        ({"rows": [{"a": 1}], "file_name": "x.csv"}, "must end with .xlsx"),
        ({"rows": [{"a": 1}], "file_name": "../x.xlsx"}, "may not contain /"),
        ({"rows": [["x"]], "headers": ["A", "a"]}, "appears twice"),
    ],
)
def test_create_workbook_refuses_bad_inputs(action_call, inputs, message):
    with pytest.raises(ActionError, match=message):
        run(action_call, "create_workbook", **inputs)


def test_add_row_then_list_rows_on_a_file(action_call):
    created = run(action_call, "create_workbook", rows=ROWS, table_name="Orders")["body"]
    added = run(
        action_call,
        "add_row",
        step_name="Add",
        file=created,
        table_name="orders",
        row={"No.": "S-1003", "customer": "Fabrikam", "Amount": 10, "Date": "2024-06-30"},
    )["body"]
    assert added["rowCount"] == 3
    assert added["row"] == {
        "No.": "S-1003",
        "Customer": "Fabrikam",
        "Amount": 10,
        "Lines": None,
        "Date": "2024-06-30",
    }
    ws = workbook_of(added).active
    assert ws.tables["Orders"].ref == "A1:E4"
    assert ws["A4"].value == "S-1003"
    listed = run(action_call, "list_rows", file=added, table_name="Orders")["body"]["value"]
    assert [r["No."] for r in listed] == ["S-1001", "S-1002", "S-1003"]
    assert listed[0] == {
        "No.": "S-1001",
        "Customer": "Adatum",
        "Amount": 1250.5,
        "Lines": 3,
        "Date": "2024-05-01",
    }
    top = run(action_call, "list_rows", file=added, table_name="Orders", top=1, skip=1)
    assert [r["No."] for r in top["body"]["value"]] == ["S-1002"]


def test_an_empty_table_fills_its_blank_row_first(action_call):
    created = run(action_call, "create_workbook", rows=[], headers=["Name", "Qty"])["body"]
    assert created["rowCount"] == 0
    assert run(action_call, "list_rows", file=created, table_name="Table1")["body"]["value"] == []
    added = run(
        action_call, "add_row", file=created, table_name="Table1", row={"Name": "x", "Qty": 2}
    )["body"]
    assert workbook_of(added).active.tables["Table1"].ref == "A1:B2"
    rows = run(action_call, "list_rows", file=added, table_name="Table1")["body"]["value"]
    assert rows == [{"Name": "x", "Qty": 2}]


def test_add_row_refuses_unknown_columns_and_tables(action_call):
    created = run(action_call, "create_workbook", rows=ROWS, table_name="Orders")["body"]
    with pytest.raises(
        ActionError, match=re.escape("has no column Colour; its columns are No., Customer")
    ):
        run(action_call, "add_row", file=created, table_name="Orders", row={"Colour": "red"})
    with pytest.raises(ActionError, match="no table named Lines; it has Orders"):
        run(action_call, "add_row", file=created, table_name="Lines", row={"No.": "x"})


def test_add_row_refuses_to_overwrite_data_under_the_table(action_call):
    created = run(action_call, "create_workbook", rows=ROWS, table_name="Orders")["body"]
    workbook = workbook_of(created)
    workbook.active["B4"] = "a note under the table"
    buffer = io.BytesIO()
    workbook.save(buffer)
    file = {"name": "x.xlsx", "contentBytes": base64.b64encode(buffer.getvalue()).decode()}
    with pytest.raises(ActionError, match="is not empty"):
        run(action_call, "add_row", file=file, table_name="Orders", row={"No.": "S-9"})


def test_a_file_that_is_not_a_workbook_is_refused(action_call):
    file = {"name": "x.xlsx", "contentBytes": base64.b64encode(b"plain text").decode()}
    with pytest.raises(ActionError, match="not an Excel workbook"):
        run(action_call, "list_rows", file=file, table_name="Table1")


def test_it_needs_either_a_file_or_a_path(action_call):
    with pytest.raises(ActionError, match="either the workbook file"):
        run(action_call, "list_rows", table_name="Table1")


def test_add_row_saves_a_workbook_in_documents(action_call, flow_run):
    created = run(action_call, "create_workbook", rows=ROWS, table_name="Orders")["body"]
    find_action("sharepoint.create_file").run(
        action_call(
            {"folder": "Reports", "name": "orders.xlsx", "content": created}, step_name="Save"
        )
    )
    document = Document.objects.get(name="orders.xlsx")
    first_file = document.file.name
    body = run(
        action_call,
        "add_row",
        step_name="Add",
        path="/Documents/Reports/orders.xlsx",
        table_name="Orders",
        row={"No.": "S-1003"},
    )["body"]
    assert body["path"] == "/Documents/Reports/orders.xlsx"
    assert body["rowCount"] == 3
    document.refresh_from_db()
    assert document.file.name != first_file
    with document.file.open("rb") as handle:
        ws = openpyxl.load_workbook(handle).active
    assert ws["A4"].value == "S-1003"
    listed = run(
        action_call, "list_rows", path="/Documents/Reports/orders.xlsx", table_name="Orders"
    )["body"]["value"]
    assert [r["No."] for r in listed] == ["S-1001", "S-1002", "S-1003"]


def test_the_actions_declare_what_repeating_them_does():
    assert find_action("excel.create_workbook").repeatable is True
    assert find_action("excel.list_rows").repeatable is True
    assert find_action("excel.add_row").transactional is True
