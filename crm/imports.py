"""Importing transactions from CSV and XLSX files.

A thin entry point in front of ``crm.services.ingest_transactions``: it decodes the file, reads
its rows, maps every row to a ``TransactionInput`` and hands them to the service, which
validates, deduplicates and stores them in batches. Nothing here writes a transaction itself.

Column layout (the first non-blank row holds the headers; English names or the Chinese
aliases; header case, spaces and hyphens do not matter; unknown columns are ignored):

=====================  ==========================  =========================================
column                 aliases                     value
=====================  ==========================  =========================================
external_id *          订单号, 订单编号, 单号      the order id in the source system
occurred_at *          下单时间, 交易时间, 时间    ISO 8601 or ``YYYY-MM-DD HH:MM[:SS]``
                                                   (also ``/`` or 年月日); no zone = Shanghai
amount *               金额, 订单金额, 实付金额    ``1234.50``; ``¥`` and ``,`` are ignored
currency               币种, 货币                  ISO code, default CNY (人民币/RMB = CNY)
channel                渠道                        a channel code or 门店, 天猫, 京东, …;
                                                   empty: the import's default channel
kind                   类型, 交易类型              purchase/cancellation, 购买/退货 (default
                                                   purchase; a cancellation's amount is ≤ 0)
original_external_id   原订单号                    the order a cancellation refunds
mobile                 手机, 手机号, 手机号码      identities of the customer; none = a guest
email                  邮箱, 电子邮箱
wechat_unionid         微信unionid, unionid
customer_external_id   客户编号, 会员号, 会员编号
name                   姓名, 客户名称, 客户姓名    the customer's name when a new one is made
lines                  明细, 商品明细              optional JSON list of objects
=====================  ==========================  =========================================

``*`` = required. A row's line is the row number a spreadsheet shows (the header row is 1).
A row that cannot be mapped (a date or amount that is not one) becomes a ``RowError`` with its
line, column and reason; the other rows are still imported. Text files may be UTF-8 (with or
without BOM), UTF-16 with BOM, or GBK/GB18030, as Chinese Excel saves them.

Why not django-import-export's ``Resource`` and tablib's CSV reader: a ``Resource`` saves
model instances one by one (the service stores a batch in a handful of statements), tablib
reads the whole file into a ``Dataset``, drops blank lines (so line numbers would drift) and
refuses rows longer than the header. The format classes of import-export are used for what
they are good at here (file type, content type, writing the error report); rows are read with
``csv`` and openpyxl in read-only mode, one at a time.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import logging
import math
import os
import re
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import tablib
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from import_export.formats import base_formats

from crm.errors import DomainError
from crm.jobs import JobContext, job_handler
from crm.models import BusinessUnit, Channel, TransactionKind
from crm.services import (
    IdentityInput,
    IngestResult,
    RowError,
    TransactionInput,
    ingest_transactions,
)

logger = logging.getLogger(__name__)

IMPORT_JOB_KIND = "crm.import_transactions"
BATCH_SIZE = 1000  # rows per call of the service's batch, like its own default
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_XLSX_MEMBERS = 2000
SNIFF_BYTES = 64 * 1024
MAX_REPORTED_ERRORS = 200
IMPORT_TIME_ZONE = ZoneInfo("Asia/Shanghai")  # naive times in a file are Shanghai times

# column -> accepted header spellings besides the column's own name (already normalized)
COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("订单号", "订单编号", "单号", "order_id", "order_no"),
    "occurred_at": ("下单时间", "交易时间", "时间", "order_time", "ordered_at", "date"),
    "amount": ("金额", "订单金额", "实付金额", "total"),
    "currency": ("币种", "货币"),
    "channel": ("渠道",),
    "kind": ("类型", "交易类型", "type"),
    "original_external_id": ("原订单号", "original_order_id"),
    "mobile": ("手机", "手机号", "手机号码", "phone"),
    "email": ("邮箱", "电子邮箱", "电子邮件", "e_mail"),
    "wechat_unionid": ("微信unionid", "unionid"),
    "customer_external_id": ("客户编号", "会员号", "会员编号", "customer_id"),
    "name": ("姓名", "客户名称", "客户姓名", "customer_name"),
    "lines": ("明细", "商品明细"),
}
REQUIRED_COLUMNS = ("external_id", "occurred_at", "amount")
_HEADER_NAMES = {alias: column for column, aliases in COLUMNS.items() for alias in aliases} | {
    column: column for column in COLUMNS
}
_IDENTITY_COLUMNS = {
    "mobile": "mobile",
    "email": "email",
    "wechat_unionid": "wechat_unionid",
    "customer_external_id": "external",
}
# A service error names the field it checked; the report names the file's column instead.
_FIELD_TO_COLUMN = {"external": "customer_external_id", "display_name": "name"}

_KIND_ALIASES = {
    "购买": TransactionKind.PURCHASE,
    "销售": TransactionKind.PURCHASE,
    "订单": TransactionKind.PURCHASE,
    "sale": TransactionKind.PURCHASE,
    "退货": TransactionKind.CANCELLATION,
    "退款": TransactionKind.CANCELLATION,
    "取消": TransactionKind.CANCELLATION,
    "refund": TransactionKind.CANCELLATION,
    "return": TransactionKind.CANCELLATION,
}
_CHANNEL_ALIASES = {
    "门店": Channel.STORE,
    "线下": Channel.STORE,
    "商城": Channel.ONLINE_MALL,
    "线上商城": Channel.ONLINE_MALL,
    "天猫": Channel.TMALL,
    "京东": Channel.JD,
    "小程序": Channel.WECHAT_MINI,
    "微信小程序": Channel.WECHAT_MINI,
    "电话": Channel.PHONE,
    "其他": Channel.OTHER,
}
_CURRENCY_ALIASES = {"人民币": "CNY", "RMB": "CNY", "元": "CNY"}
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: PostgreSQL refuses
_AMOUNT_NOISE = re.compile(r"[\s,，¥￥]")
_UPLOAD_NAME = re.compile(r"^[0-9a-f]{32}\.(csv|xlsx)$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(DomainError):
    """The file as a whole cannot be read (encoding, format, missing columns)."""

    code = "import_file_invalid"
    status = 400


# --- Decoding ----------------------------------------------------------------------------


def decode_upload(data: bytes) -> tuple[str, str]:
    """The text of an uploaded file and the encoding it was read with.

    A byte-order mark decides (UTF-8 or UTF-16); otherwise strict UTF-8, else GB18030 (a
    superset of GBK and GB2312, what Chinese Excel writes as "CSV")."""
    if data.startswith(codecs.BOM_UTF8):
        candidates: tuple[str, ...] = ("utf-8-sig",)
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ("utf-16",)
    else:
        candidates = ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ImportFileError(_("Could not read the file as UTF-8 or GBK/GB18030 text."))


def sniff_encoding(stream: IO[bytes]) -> str:
    """The encoding of a text file, judged on its first ~64 KB that are not plain ASCII.

    Reads from the stream's current position; the caller rewinds it."""
    head = stream.read(SNIFF_BYTES)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head
    while sample and sample.isascii():  # ASCII says nothing; the Chinese comes later
        sample = stream.read(SNIFF_BYTES)
    if not sample:
        return "utf-8"
    for encoding in ("utf-8", "gb18030"):
        try:
            # final=False: a character cut at the end of the sample is not an error
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportFileError(_("Could not read the file as UTF-8 or GBK/GB18030 text."))


# --- Reading rows ------------------------------------------------------------------------


@dataclass
class Table:
    """The rows of a file, read lazily: ``(line, cells)`` after the header row."""

    format: str
    encoding: str
    header_line: int
    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]
    fraction: Callable[[], float]  # how much of the file has been read, 0 to 1


class CSVFormat(base_formats.CSV):
    """import-export's CSV format, read row by row with the delimiter of the header row."""

    def iter_rows(self, text: Iterable[str], encoding: str) -> Iterator[tuple[int, list[Any]]]:
        line = 0
        try:
            lines = iter(text)
            first = next(lines, "")
            delimiter = max(",\t;", key=first.count) if first else ","
            reader = csv.reader(itertools.chain([first], lines), delimiter=delimiter)
            for line, row in enumerate(reader, start=1):
                yield line, list(row)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                _(
                    "The file is not valid %(encoding)s text after line %(line)s; the import "
                    "stopped there (batches stored before are kept)."
                )
                % {"line": line, "encoding": encoding}
            ) from exc
        except csv.Error as exc:
            raise ImportFileError(
                _("Line %(line)s could not be read as CSV: %(error)s")
                % {"line": line + 1, "error": exc}
            ) from exc


class XLSXFormat(base_formats.XLSX):
    """import-export's XLSX format, read row by row (openpyxl read-only, formulas' values)
    after checking the archive, so a zip bomb is refused before anything is unpacked."""

    def iter_rows(self, stream: IO[bytes]) -> tuple[int, Iterator[tuple[int, list[Any]]]]:
        """``(estimated row count, rows)`` of the workbook's active sheet."""
        check_xlsx_archive(stream)
        import openpyxl  # defusedxml is installed: openpyxl parses the XML with it

        try:
            book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
            sheet = book.active if hasattr(book.active, "iter_rows") else book.worksheets[0]
            estimate = sheet.max_row or 0
            # Files from some tools declare a wrong size; read what is really there.
            sheet.reset_dimensions()
        except ImportFileError:
            raise
        except Exception as exc:  # a malformed workbook fails in many ways inside openpyxl
            logger.info("unreadable xlsx: %r", exc)
            raise ImportFileError(_("The file is not a readable XLSX workbook.")) from exc

        def rows() -> Iterator[tuple[int, list[Any]]]:
            try:
                for line, row in enumerate(sheet.iter_rows(values_only=True), start=1):
                    yield line, list(row)
            except ImportFileError:
                raise
            except Exception as exc:
                logger.info("unreadable xlsx row: %r", exc)
                raise ImportFileError(_("The file is not a readable XLSX workbook.")) from exc
            finally:
                book.close()

        return estimate, rows()


def check_xlsx_archive(stream: IO[bytes]) -> None:
    """Refuse archives that unpack to more than 200 MB or hold too many members."""
    try:
        with zipfile.ZipFile(stream) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("The file is not a readable XLSX workbook.")) from exc
    finally:
        stream.seek(0)
    unpacked = sum(member.file_size for member in members)
    if len(members) > MAX_XLSX_MEMBERS or unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise ImportFileError(
            _("The workbook unpacks to more than %(size)s MB; split it or save it as CSV.")
            % {"size": MAX_XLSX_UNPACKED_BYTES // (1024 * 1024)}
        )


def detect_format(filename: str, head: bytes) -> str:
    """``csv`` or ``xlsx``, by the file's first bytes (its name can lie)."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(_("Old .xls workbooks are not supported; save it as .xlsx or CSV."))
    if filename.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("The file is not a readable XLSX workbook."))
    return "csv"


class _CountingReader(io.RawIOBase):
    """A binary stream that counts the bytes read through it, for progress."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


def read_table(stream: IO[bytes], *, filename: str, size: int | None = None) -> Table:
    """Open a CSV or XLSX file for reading row by row without loading it whole.

    ``stream`` must be seekable (an open file or ``BytesIO``)."""
    head = stream.read(8)
    stream.seek(0)
    fmt = detect_format(filename, head)
    if fmt == "xlsx":
        estimate, xlsx_rows = XLSXFormat().iter_rows(stream)
        return _with_header("xlsx", "", xlsx_rows, lambda line: line / estimate if estimate else 0)
    encoding = sniff_encoding(stream)
    stream.seek(0)
    counter = _CountingReader(stream)
    text = io.TextIOWrapper(io.BufferedReader(counter, 1 << 16), encoding=encoding, newline="")
    total = size or 0
    return _with_header(
        "csv",
        encoding,
        CSVFormat().iter_rows(text, encoding),
        lambda line: counter.count / total if total else 0,
    )


def read_upload(data: bytes, *, filename: str) -> Table:
    """Like ``read_table`` for a file in memory; a text file is decoded as a whole first, so
    an encoding problem is found before any row is stored."""
    if detect_format(filename, data[:8]) == "xlsx":
        return read_table(io.BytesIO(data), filename=filename)
    text, encoding = decode_upload(data)
    total = text.count("\n") + 1
    return _with_header(
        "csv",
        encoding,
        CSVFormat().iter_rows(io.StringIO(text, newline=""), encoding),
        lambda line: line / total,
    )


def _with_header(
    fmt: str,
    encoding: str,
    rows: Iterator[tuple[int, list[Any]]],
    fraction_at: Callable[[int], float],
) -> Table:
    found = next(((n, cells) for n, cells in rows if not _is_blank(cells)), None)
    if found is None:
        raise ImportFileError(_("The file is empty: a header row is required."))
    header_line, header = found
    state = {"line": header_line}

    def tracked() -> Iterator[tuple[int, list[Any]]]:
        for row_line, row in rows:
            state["line"] = row_line
            yield row_line, row

    return Table(
        format=fmt,
        encoding=encoding,
        header_line=header_line,
        header=header,
        rows=tracked(),
        fraction=lambda: min(1.0, max(0.0, fraction_at(state["line"]))),
    )


# --- Mapping rows ------------------------------------------------------------------------


def normalize_header(value: Any) -> str:
    return re.sub(r"[\s\-]+", "_", cell_text(value).lower()).strip("_")


def column_positions(header: Sequence[Any]) -> dict[str, int]:
    """``column -> index`` of the known columns; refuses a file without the required ones."""
    positions: dict[str, int] = {}
    for index, raw in enumerate(header):
        column = _HEADER_NAMES.get(normalize_header(raw))
        if column is None:
            continue
        if column in positions:
            raise ImportFileError(
                _("Two columns mean “%(column)s”: “%(first)s” and “%(second)s”.")
                % {
                    "column": column,
                    "first": cell_text(header[positions[column]]),
                    "second": cell_text(raw),
                }
            )
        positions[column] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise ImportFileError(
            _("The header row has no column for %(missing)s. Required columns: %(required)s.")
            % {"missing": ", ".join(missing), "required": ", ".join(REQUIRED_COLUMNS)}
        )
    return positions


def cell_text(value: Any) -> str:
    """A cell as stripped text; numbers as a spreadsheet shows them (13800138000, not 1.38e10)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    return _UNSTORABLE.sub("", str(value)).strip()


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(cell_text(cell) == "" for cell in cells)


def parse_amount(value: Any) -> Decimal:
    """An amount with two decimals; ``ValueError`` with a reason otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    text = str(value) if isinstance(value, int | float | Decimal) else cell_text(value)
    text = _AMOUNT_NOISE.sub("", text)
    try:
        amount = Decimal(text)
        if not amount.is_finite():
            raise ValueError(text)
        return amount.quantize(Decimal("0.01"))
    except (InvalidOperation, ArithmeticError) as exc:
        raise ValueError(text) from exc


def parse_occurred_at(value: Any) -> datetime:
    """An aware datetime; a time without a zone is a Shanghai time. ``ValueError`` otherwise."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        text = " ".join(cell_text(value).split())
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for fmt in _DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, fmt)  # the zone is added below
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(text) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=IMPORT_TIME_ZONE)
    if not 1900 <= moment.year <= 2999:  # also keeps any zone offset away from year 9999
        raise ValueError(value)
    return moment


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400; jsonb has no Infinity
        raise ValueError(text)
    return number


def _no_constant(text: str) -> Any:
    raise ValueError(text)  # NaN, Infinity: not JSON to PostgreSQL


def parse_lines(value: Any) -> list[dict[str, Any]]:
    """A JSON list of objects that PostgreSQL's jsonb accepts; ``ValueError`` otherwise."""
    text = cell_text(value)
    if not text:
        return []
    try:
        lines = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
        # jsonb refuses \u0000 and lone surrogates (the encode raises for those)
        dumped = json.dumps(lines, ensure_ascii=False)
        if "\\u0000" in dumped:
            raise ValueError(text)
        dumped.encode("utf-8")
    except (ValueError, RecursionError) as exc:
        raise ValueError(text) from exc
    if not isinstance(lines, list) or not all(isinstance(item, dict) for item in lines):
        raise ValueError(text)
    return lines


def map_row(cells: Mapping[str, Any], *, line: int, channel: str) -> TransactionInput | RowError:
    """One file row (``column -> cell``) as the service's input, or why it cannot be one."""
    external_id = cell_text(cells.get("external_id"))

    def error(column: str, reason: str) -> RowError:
        return RowError(line, column, reason, external_id[:100])

    raw_date = cells.get("occurred_at")
    try:
        occurred_at = parse_occurred_at(raw_date)
    except ValueError:
        return error(
            "occurred_at",
            _("“%(value)s” is not a date and time such as 2024-05-01 14:30.")
            % {"value": cell_text(raw_date)[:60]},
        )
    raw_amount = cells.get("amount")
    try:
        amount = parse_amount(raw_amount)
    except ValueError:
        return error(
            "amount",
            _("“%(value)s” is not an amount such as 1234.50.")
            % {"value": cell_text(raw_amount)[:60]},
        )
    try:
        lines = parse_lines(cells.get("lines"))
    except ValueError:
        return error("lines", _("Order lines must be a JSON list of objects."))
    kind = cell_text(cells.get("kind")).lower() or TransactionKind.PURCHASE
    kind = _KIND_ALIASES.get(kind, kind)
    original_external_id = cell_text(cells.get("original_external_id"))
    if original_external_id and kind == TransactionKind.PURCHASE:
        # only a cancellation links to an original (the database refuses anything else)
        return error(
            "original_external_id",
            _("Only a cancellation refers to an original order; leave it empty for a purchase."),
        )
    row_channel = cell_text(cells.get("channel")).lower() or channel
    currency = cell_text(cells.get("currency")).upper() or "CNY"
    identities = [
        IdentityInput(type_, cell_text(cells.get(column)))
        for column, type_ in _IDENTITY_COLUMNS.items()
        if cell_text(cells.get(column))
    ]
    name = cell_text(cells.get("name"))
    return TransactionInput(
        external_id=external_id,
        occurred_at=occurred_at,
        amount=amount,
        channel=_CHANNEL_ALIASES.get(row_channel, row_channel),
        currency=_CURRENCY_ALIASES.get(currency, currency),
        kind=kind,
        original_external_id=original_external_id,
        identities=identities,
        customer_attributes={"display_name": name} if name else {},
        lines=lines,
        line_number=line,
    )


# --- Running an import -------------------------------------------------------------------


@dataclass
class ImportOutcome:
    result: IngestResult
    format: str
    encoding: str

    def as_dict(self, max_errors: int = MAX_REPORTED_ERRORS) -> dict[str, Any]:
        return {
            **self.result.as_dict(max_errors=max_errors),
            "encoding": self.encoding,
            "format": self.format,
        }


def import_table(
    table: Table,
    *,
    business_unit: BusinessUnit,
    source: str,
    channel: str,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[float, int], None] | None = None,
) -> ImportOutcome:
    """Map the table's rows and ingest them; ``progress(fraction_read, rows_read)`` runs
    every ``batch_size`` rows. Rows that could not be mapped are reported with the service's errors,
    sorted by line."""
    if channel not in Channel.values:
        raise ImportFileError(
            _("Unknown channel “%(value)s”; use one of %(choices)s.")
            % {"value": channel, "choices": ", ".join(Channel.values)}
        )
    positions = column_positions(table.header)
    unmapped: list[RowError] = []
    read = {"rows": 0}

    def inputs() -> Iterator[TransactionInput]:
        # The service reads a batch before it opens the batch's transaction, so progress
        # (and a cancellation it raises) is reported between batches, never inside one.
        for line, cells in table.rows:
            if _is_blank(cells):
                continue
            read["rows"] += 1
            if progress and read["rows"] % batch_size == 0:
                progress(table.fraction(), read["rows"])
            values = {c: cells[i] if i < len(cells) else None for c, i in positions.items()}
            mapped = map_row(values, line=line, channel=channel)
            if isinstance(mapped, RowError):
                unmapped.append(mapped)
            else:
                yield mapped

    result = ingest_transactions(
        business_unit=business_unit,
        source=source,
        rows=inputs(),
        batch_size=batch_size,
        dry_run=dry_run,
    )
    result.received += len(unmapped)
    result.errors = sorted(
        [
            RowError(e.line, _FIELD_TO_COLUMN.get(e.field, e.field), e.reason, e.external_id)
            for e in [*unmapped, *result.errors]
        ],
        key=lambda e: (e.line is None, e.line or 0),
    )
    if progress:
        progress(1.0, read["rows"])
    return ImportOutcome(result=result, format=table.format, encoding=table.encoding)


def run_transaction_import(
    *,
    business_unit: BusinessUnit,
    source: str,
    data: bytes,
    filename: str,
    channel: str,
    dry_run: bool,
    progress: Callable[[float, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    max_errors: int = MAX_REPORTED_ERRORS,
) -> dict[str, Any]:
    """Import a CSV or XLSX file held in memory: the service's result (``received``,
    ``created``, ``duplicates``, …, ``errors`` as dicts of line, field, reason and order id,
    the first ``max_errors`` of them) plus the file's ``encoding`` and ``format``."""
    table = read_upload(data, filename=filename)
    outcome = import_table(
        table,
        business_unit=business_unit,
        source=source,
        channel=channel,
        dry_run=dry_run,
        batch_size=batch_size,
        progress=progress,
    )
    return outcome.as_dict(max_errors=max_errors)


# --- Error reports -----------------------------------------------------------------------


def neutralize_formula(value: Any) -> Any:
    """Text a spreadsheet would run as a formula (``= + - @``, tab, CR first) is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def error_report_csv(errors: Iterable[RowError | Mapping[str, Any]]) -> bytes:
    """Rejected rows as a CSV Excel opens correctly (UTF-8 with BOM), formulas neutralized."""
    dataset = tablib.Dataset(headers=[_("Line"), _("Column"), _("Reason"), _("Order id")])
    for error in errors:
        item = error.as_dict() if isinstance(error, RowError) else error
        dataset.append(
            [
                item.get("line") or "",
                neutralize_formula(str(item.get("field") or "")),
                neutralize_formula(str(item.get("reason") or "")),
                neutralize_formula(str(item.get("external_id") or "")),
            ]
        )
    return codecs.BOM_UTF8 + CSVFormat().export_data(dataset).encode("utf-8")


# --- Uploads and the background job ------------------------------------------------------


def uploads_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_upload(chunks: Iterable[bytes], *, filename: str) -> str:
    """Write an upload under ``VAR_DIR/imports`` (readable by its owner only); the stored
    name, which the job receives instead of a path."""
    extension = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    name = f"{uuid.uuid4().hex}{extension}"
    descriptor = os.open(uploads_dir() / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as target:
        for chunk in chunks:
            target.write(chunk)
    return name


def upload_path(name: str) -> Path:
    """The stored upload ``name``; nothing outside the uploads folder can be named."""
    if not _UPLOAD_NAME.match(name or ""):
        raise ImportFileError(_("The uploaded file is missing; upload it again."))
    return uploads_dir() / name


def delete_upload(name: str) -> None:
    if _UPLOAD_NAME.match(name or ""):
        (uploads_dir() / name).unlink(missing_ok=True)


def purge_stale_uploads(*, older_than_seconds: float = 2 * 24 * 3600) -> int:
    """Delete uploads whose job never ran (cancelled while queued, worker lost)."""
    import time as clock

    cutoff = clock.time() - older_than_seconds
    removed = 0
    for path in uploads_dir().iterdir():
        if _UPLOAD_NAME.match(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


RESULT_LABELS = {
    "received": gettext_lazy("Rows read"),
    "created": gettext_lazy("Orders imported"),
    "duplicates": gettext_lazy("Already imported before (skipped)"),
    "guests": gettext_lazy("Guest orders (no customer)"),
    "customers_created": gettext_lazy("New customers"),
    "cancellations_linked": gettext_lazy("Cancellations linked to their order"),
    "rejected": gettext_lazy("Rows rejected"),
    "errors": gettext_lazy("Rejected rows"),
    "encoding": gettext_lazy("Text encoding"),
    "format": gettext_lazy("File format"),
    "dry_run": gettext_lazy("Dry run (nothing saved)"),
    "filename": gettext_lazy("File"),
}


@job_handler(
    IMPORT_JOB_KIND, label=gettext_lazy("Import transactions"), result_labels=RESULT_LABELS
)
def import_transactions_job(ctx: JobContext) -> dict[str, Any]:
    """Params: ``upload`` (stored name), ``filename``, ``business_unit_id``, ``source``,
    ``channel``, ``dry_run``. The stored file is deleted whatever happens."""
    params = ctx.params
    name = params.get("upload", "")
    try:
        ctx.progress(1, _("Reading the file"))
        unit = BusinessUnit.objects.get(pk=params["business_unit_id"])
        try:
            data = upload_path(name).read_bytes()
        except FileNotFoundError as exc:
            raise ImportFileError(_("The uploaded file is missing; upload it again.")) from exc

        def report(fraction: float, rows: int) -> None:
            ctx.progress(
                2 + 97 * fraction,
                ngettext("%(count)s row read", "%(count)s rows read", rows) % {"count": rows},
            )

        result = run_transaction_import(
            business_unit=unit,
            source=params.get("source", ""),
            data=data,
            filename=params.get("filename", name),
            channel=params.get("channel", Channel.OTHER),
            dry_run=bool(params.get("dry_run")),
            progress=report,
        )
    finally:
        delete_upload(name)
    return {**result, "dry_run": bool(params.get("dry_run")), "filename": params.get("filename")}
