"""Excel Online (Business): workbooks with tables, built and read with openpyxl.

A workbook travels between steps as a file (``{"name", "contentBytes", "contentType"}``) or
lives in a document library (SharePoint's connector). Its rows sit in an Excel table, as in
Excel Online, so "add a row" and "list rows" find them by the table's name.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import openpyxl
from django.utils import timezone
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import range_boundaries
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from automate.connectors._files import (
    MAX_FILE_BYTES,
    FileContent,
    clean_name,
    file_from_dict,
    megabytes,
)
from automate.connectors.base import (
    ActionCall,
    ActionError,
    Connector,
    ConnectorAction,
    Output,
    Param,
)
from automate.services.documents import document_find, document_read, document_replace_content

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_ROWS = 100_000
MAX_COLUMNS = 500
MAX_CELLS = 1_000_000
MAX_CELL_TEXT = 32_767  # Excel's limit for one cell
MAX_LIST_TOP = 5000
DEFAULT_LIST_TOP = 256
# A workbook is a zip: refuse ones that inflate far beyond what we would ever write.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
TABLE_STYLE = "TableStyleMedium2"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
# Excel stores numbers as doubles: longer integers (ids, account numbers) would lose digits.
MAX_EXACT_INTEGER = 2**53

TABLE_NAME = re.compile(r"^[A-Za-z_\\][A-Za-z0-9_.\\]{0,254}$")
CELL_REFERENCE = re.compile(r"^(?:[A-Za-z]{1,3}\d+|[Rr]\d*[Cc]\d*|[RrCc])$")
SHEET_NAME_FORBIDDEN = frozenset("[]:*?/\\")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?$"
)


# -- Cells --------------------------------------------------------------------------------


def cell_value(value: Any) -> Any:
    """A JSON value as an Excel cell keeps it: numbers, booleans, dates and text."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < MAX_EXACT_INTEGER else str(value)
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if ISO_DATE.match(text):
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            return text
    if ISO_DATETIME.match(text):
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        if timezone.is_aware(moment):
            # Excel has no time zones: show the time as people of this site read it.
            moment = timezone.make_naive(moment, timezone.get_current_timezone())
        return moment
    if len(text) > MAX_CELL_TEXT:
        raise ActionError(f"A value is longer than Excel's {MAX_CELL_TEXT} characters per cell.")
    return text


def write_cell(ws: Worksheet, row: int, column: int, value: Any) -> None:
    cell = ws.cell(row=row, column=column)
    cell.value = cell_value(value)
    if isinstance(cell.value, str):
        # Text stays text: "=HYPERLINK(...)" from a customer's name must never become a
        # formula that runs when someone opens the file.
        cell.data_type = "s"
    elif isinstance(cell.value, datetime.datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(cell.value, datetime.date):
        cell.number_format = DATE_FORMAT


def read_cell(cell: Any) -> Any:
    """A cell as a JSON value: dates as ISO text, numbers as numbers."""
    value = cell.value
    if isinstance(value, datetime.datetime):
        fmt = (cell.number_format or "").lower()
        if value.time() == datetime.time(0) and "h" not in fmt and "s" not in fmt:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, float) and value.is_integer() and abs(value) < MAX_EXACT_INTEGER:
        return int(value)
    return value


# -- Names --------------------------------------------------------------------------------


def clean_table_name(value: Any, *, default: str = "") -> str:
    name = str(value).strip() if value not in (None, "") else default
    if not name:
        raise ActionError("Give the table's name.")
    if not TABLE_NAME.match(name) or CELL_REFERENCE.match(name):
        raise ActionError(
            f"{name!r} cannot name an Excel table: use letters, digits, _ and ., start with a "
            "letter, no spaces, and not a cell reference such as A1."
        )
    return name


def clean_sheet_name(value: Any) -> str:
    name = str(value).strip() if value not in (None, "") else "Sheet1"
    if len(name) > 31:
        raise ActionError("A sheet name has at most 31 characters.")
    bad = sorted(set(name) & SHEET_NAME_FORBIDDEN)
    if bad or name.startswith("'") or name.endswith("'") or ILLEGAL_CHARACTERS_RE.search(name):
        raise ActionError(f"The sheet name {name!r} may not contain {' '.join(bad) or 'that'}.")
    return name


def clean_file_name(value: Any) -> str:
    name = clean_name(value if value not in (None, "") else "Workbook.xlsx")
    if "." not in name:
        return f"{name}.xlsx"
    if not name.lower().endswith(".xlsx"):
        raise ActionError(f"The workbook's file name must end with .xlsx, not {name!r}.")
    return name


def clean_headers(headers: Any) -> list[str]:
    if not isinstance(headers, list) or not headers:
        raise ActionError('Headers must be a list of column names, e.g. ["No.", "Name"].')
    names = []
    for header in headers:
        name = ILLEGAL_CHARACTERS_RE.sub("", str(header if header is not None else "")).strip()
        if not name:
            raise ActionError("A column name is empty.")
        if len(name) > 255:
            raise ActionError(f"The column name {name[:40]!r}... is longer than 255 characters.")
        if name.lower() in (n.lower() for n in names):
            raise ActionError(f"The column {name!r} appears twice; column names must differ.")
        names.append(name)
    if len(names) > MAX_COLUMNS:
        raise ActionError(f"A table has at most {MAX_COLUMNS} columns here.")
    return names


# -- Building a workbook ------------------------------------------------------------------


def table_rows(rows: Any, headers: Any) -> tuple[list[str], list[list[Any]]]:
    """Column names and row values from objects (keys are columns) or lists (with headers)."""
    if isinstance(rows, str):
        try:
            rows = json.loads(rows)
        except ValueError:
            raise ActionError("Rows must be a list of objects or of lists.") from None
    if rows is None:
        rows = []
    if not isinstance(rows, list):
        raise ActionError("Rows must be a list of objects or of lists.")
    if len(rows) > MAX_ROWS:
        raise ActionError(f"A workbook takes at most {MAX_ROWS:,} rows here.")
    if all(isinstance(r, dict) for r in rows):
        if headers not in (None, "", []):
            names = clean_headers(headers)
        else:
            keys: dict[str, None] = {}
            for row in rows:
                keys.update(dict.fromkeys(str(k) for k in row))
            if not keys:
                raise ActionError("Give some rows, or the headers of an empty table.")
            names = clean_headers(list(keys))
        values = [[row[n] if n in row else _lookup_ci(row, n) for n in names] for row in rows]
    elif all(isinstance(r, list) for r in rows):
        if headers in (None, "", []):
            raise ActionError("Rows given as lists need the headers input: the column names.")
        names = clean_headers(headers)
        values = []
        for number, row in enumerate(rows, start=1):
            if len(row) > len(names):
                raise ActionError(
                    f"Row {number} has {len(row)} values but there are {len(names)} columns."
                )
            values.append(row + [None] * (len(names) - len(row)))
    else:
        raise ActionError("Rows must all be objects, or all be lists.")
    if len(names) * max(len(values), 1) > MAX_CELLS:
        raise ActionError(f"A workbook takes at most {MAX_CELLS:,} cells here.")
    return names, values


def build_workbook(
    *, names: list[str], rows: list[list[Any]], sheet_name: str, table_name: str
) -> bytes:
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = sheet_name
    for column, name in enumerate(names, start=1):
        write_cell(ws, 1, column, name)
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            write_cell(ws, number, column, value)
    # An Excel table has at least one data row; an empty table keeps a blank one.
    last_row = max(len(rows), 1) + 1
    ref = f"A1:{get_column_letter(len(names))}{last_row}"
    table = Table(displayName=table_name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)
    ws.freeze_panes = "A2"
    _fit_columns(ws, names, rows)
    return _save(workbook)


def _fit_columns(ws: Worksheet, names: list[str], rows: list[list[Any]]) -> None:
    for column, name in enumerate(names, start=1):
        sample = [len(name) + 3] + [len(str(r[column - 1] or "")) for r in rows[:200]]
        ws.column_dimensions[get_column_letter(column)].width = min(max(sample) + 2, 60)


def _save(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    if len(data) > MAX_FILE_BYTES:
        raise ActionError(f"The workbook would be larger than {megabytes(MAX_FILE_BYTES)}.")
    return data


def _lookup_ci(row: dict, name: str) -> Any:
    lowered = name.lower()
    return next((v for k, v in row.items() if str(k).strip().lower() == lowered), None)


# -- Reading a workbook -------------------------------------------------------------------


@dataclass
class FoundTable:
    ws: Worksheet
    table: Table
    min_col: int
    min_row: int
    max_col: int
    max_row: int
    names: list[str]

    def data_rows(self) -> range:
        return range(self.min_row + 1, self.max_row + 1)

    def row_values(self, row: int) -> list:
        return [self.ws.cell(row=row, column=c) for c in range(self.min_col, self.max_col + 1)]

    def is_blank(self, row: int) -> bool:
        return all(cell.value in (None, "") for cell in self.row_values(row))

    def filled_rows(self) -> list[int]:
        return [r for r in self.data_rows() if not self.is_blank(r)]


def load_workbook(data: bytes, *, formulas: bool = True) -> openpyxl.Workbook:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ActionError("The file is not an Excel workbook (.xlsx).") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ActionError("The workbook is too large to open here.")
    try:
        return openpyxl.load_workbook(io.BytesIO(data), data_only=not formulas)
    except Exception as error:
        # openpyxl reports a damaged or foreign file with whatever its parser raised.
        raise ActionError(f"The workbook could not be read: {error}") from None


def find_table(workbook: openpyxl.Workbook, table_name: str) -> FoundTable:
    for ws in workbook.worksheets:
        for table in ws.tables.values():
            if table.displayName.lower() == table_name.lower():
                return _found(ws, table)
    names = [t.displayName for ws in workbook.worksheets for t in ws.tables.values()]
    if not names:
        raise ActionError("The workbook has no tables. Create it with Create workbook.")
    raise ActionError(
        f"The workbook has no table named {table_name}; it has {', '.join(sorted(names))}.",
        code="NotFound",
    )


def _found(ws: Worksheet, table: Table) -> FoundTable:
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    if not table.headerRowCount:
        raise ActionError(f"The table {table.displayName} has no header row.")
    if table.totalsRowCount:
        raise ActionError(
            f"The table {table.displayName} has a totals row; turn it off to add or list rows."
        )
    columns = list(table.tableColumns or [])
    if len(columns) == max_col - min_col + 1:
        names = [str(c.name) for c in columns]
    else:
        names = [
            str(ws.cell(row=min_row, column=c).value or f"Column{c - min_col + 1}")
            for c in range(min_col, max_col + 1)
        ]
    return FoundTable(ws, table, min_col, min_row, max_col, max_row, names)


def append_row(found: FoundTable, values: dict) -> dict:
    """Write ``values`` as a new last row of the table, growing the table by one row."""
    if not isinstance(values, dict) or not values:
        raise ActionError('The row must be an object of column values, e.g. {"Name": "x"}.')
    columns = _columns_for(found, values)
    filled = found.filled_rows()
    if not filled and found.max_row > found.min_row:
        target = found.min_row + 1  # the blank row an empty table keeps
    else:
        target = found.max_row + 1
        below = [
            found.ws.cell(row=target, column=c) for c in range(found.min_col, found.max_col + 1)
        ]
        if any(cell.value not in (None, "") for cell in below):
            raise ActionError(
                f"The row under the table {found.table.displayName} is not empty; the table "
                "cannot grow into it."
            )
        if target > MAX_ROWS + found.min_row:
            raise ActionError(f"The table already has {MAX_ROWS:,} rows.")
    for column, value in columns.items():
        write_cell(found.ws, target, column, value)
    if target > found.max_row:
        found.max_row = target
        ref = (
            f"{get_column_letter(found.min_col)}{found.min_row}:"
            f"{get_column_letter(found.max_col)}{found.max_row}"
        )
        found.table.ref = ref
        if found.table.autoFilter is not None:
            found.table.autoFilter.ref = ref
    return row_object(found, target)


def _columns_for(found: FoundTable, values: dict) -> dict[int, Any]:
    exact = {name: found.min_col + i for i, name in enumerate(found.names)}
    folded = {name.lower(): column for name, column in exact.items()}
    columns = {}
    unknown = []
    for key, value in values.items():
        column = exact.get(str(key)) or folded.get(str(key).strip().lower())
        if column is None:
            unknown.append(str(key))
        else:
            columns[column] = value
    if unknown:
        raise ActionError(
            f"The table {found.table.displayName} has no column {', '.join(unknown)}; its "
            f"columns are {', '.join(found.names)}."
        )
    return columns


def row_object(found: FoundTable, row: int) -> dict:
    cells = found.row_values(row)
    return {name: read_cell(cell) for name, cell in zip(found.names, cells, strict=True)}


# -- Where a workbook comes from ----------------------------------------------------------


@dataclass
class WorkbookSource:
    file: FileContent
    document: Any = None  # the Document it was read from, if any


def workbook_source(call: ActionCall) -> WorkbookSource:
    file_value, path = call.inputs.get("file"), call.inputs.get("path")
    has_file, has_path = file_value not in (None, "", {}), path not in (None, "")
    if has_file == has_path:
        raise ActionError(
            "Give either the workbook file (from an earlier step) or its path in a document "
            "library, not both."
        )
    if has_file:
        file = file_from_dict(file_value, what="The workbook")
        return WorkbookSource(
            FileContent(file.name or "Workbook.xlsx", file.data, XLSX_CONTENT_TYPE)
        )
    document = document_find(company=call.company, user=call.user, path=path)
    return WorkbookSource(
        FileContent(document.name, document_read(document=document), XLSX_CONTENT_TYPE), document
    )


# -- Actions --------------------------------------------------------------------------------

SOURCE_PARAMS = (
    Param("file", "File", "json", help="A workbook from an earlier step (Create workbook)."),
    Param("path", "Document path", help="Or a workbook in Documents: /Documents/lines.xlsx."),
)


class CreateWorkbook(ConnectorAction):
    key = "create_workbook"
    title = "Create workbook"
    description = "Create an Excel workbook with a table of rows."
    inputs = (
        Param(
            "rows",
            "Rows",
            "json",
            required=True,
            help="A list of objects (their keys become the header row), or of lists.",
        ),
        Param("headers", "Headers", "json", help="Column names; required for rows as lists."),
        Param("sheet_name", "Sheet name", default="Sheet1", advanced=True),
        Param("table_name", "Table name", default="Table1"),
        Param("file_name", "File name", default="Workbook.xlsx"),
    )
    outputs = (
        Output("body", "Workbook file", "json"),
        Output("body/name", "File name"),
        Output("body/rowCount", "Row count", "integer"),
    )
    # Builds a file in memory and touches nothing: building it again is harmless.
    repeatable = True

    def run(self, call: ActionCall) -> dict:
        inputs = call.inputs
        file_name = clean_file_name(inputs.get("file_name"))
        sheet_name = clean_sheet_name(inputs.get("sheet_name"))
        table_name = clean_table_name(inputs.get("table_name"), default="Table1")
        names, rows = table_rows(inputs.get("rows"), inputs.get("headers"))
        data = build_workbook(names=names, rows=rows, sheet_name=sheet_name, table_name=table_name)
        file = FileContent(file_name, data, XLSX_CONTENT_TYPE)
        return {"body": {**file.as_dict(), "rowCount": len(rows)}}


class AddRow(ConnectorAction):
    key = "add_row"
    title = "Add a row into a table"
    description = "Add a row to a table in a workbook, from a file or in Documents."
    inputs = (
        *SOURCE_PARAMS,
        Param("table_name", "Table", required=True),
        Param("row", "Row", "json", required=True, help='An object: {"Name": "Adatum"}.'),
    )
    outputs = (
        Output("body/row", "Row", "json"),
        Output("body/rowCount", "Row count", "integer"),
        Output("body", "Workbook file", "json"),
    )
    # Its effects are the workbook it returns, or a document of ours whose new content is
    # written under this step's key: safe inside the engine's transaction.
    transactional = True

    def run(self, call: ActionCall) -> dict:
        source = workbook_source(call)
        workbook = load_workbook(source.file.data)
        found = find_table(workbook, clean_table_name(call.inputs.get("table_name")))
        row = append_row(found, call.inputs.get("row"))
        data = _save(workbook)
        result = {"row": row, "rowCount": len(found.filled_rows())}
        updated = FileContent(source.file.name, data, XLSX_CONTENT_TYPE)
        if source.document is None:
            return {"body": {**updated.as_dict(), **result}}
        document = document_replace_content(
            document=source.document, file=updated, storage_key=call.idempotency_key
        )
        return {
            "body": {
                "id": str(document.system_id),
                "name": document.name,
                "path": document.path,
                **result,
            }
        }


class ListRows(ConnectorAction):
    key = "list_rows"
    title = "List rows present in a table"
    description = "List the rows of a table in a workbook."
    inputs = (
        *SOURCE_PARAMS,
        Param("table_name", "Table", required=True),
        Param(
            "top", "Top count", "integer", default=DEFAULT_LIST_TOP, help=f"At most {MAX_LIST_TOP}."
        ),
        Param("skip", "Skip count", "integer", default=0, advanced=True),
    )
    outputs = (Output("body/value", "Rows", "json"),)
    repeatable = True

    def run(self, call: ActionCall) -> dict:
        top = _count(call.inputs.get("top"), "Top count", DEFAULT_LIST_TOP, 1, MAX_LIST_TOP)
        skip = _count(call.inputs.get("skip"), "Skip count", 0, 0, MAX_ROWS)
        source = workbook_source(call)
        workbook = load_workbook(source.file.data, formulas=False)
        found = find_table(workbook, clean_table_name(call.inputs.get("table_name")))
        rows = found.filled_rows()[skip : skip + top]
        return {"body": {"value": [row_object(found, r) for r in rows]}}


def _count(value: Any, label: str, default: int, low: int, high: int) -> int:
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ActionError(f"{label} must be a whole number, not {value!r}.") from None
    if not low <= number <= high:
        raise ActionError(f"{label} must be between {low} and {high}.")
    return number


class ExcelConnector(Connector):
    key = "excel"
    name = "Excel Online (Business)"
    description = "Create workbooks, add rows to their tables and list them."
    color = "#107c41"
    actions = (CreateWorkbook, AddRow, ListRows)
