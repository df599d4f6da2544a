"""Reading an uploaded file: encoding detection, CSV and XLSX, zip-bomb guard."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any

from django.utils.translation import gettext as _
from import_export.formats import base_formats

from crm.errors import DomainError

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_XLSX_MEMBERS = 2000
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL and lone surrogates: PostgreSQL refuses
SNIFF_BYTES = 64 * 1024


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


def check_decodes(stream: IO[bytes], encoding: str) -> None:
    """Read a whole text file through ``encoding``'s decoder (1 MB at a time, nothing kept), so
    that bytes of another encoding are found before any row is stored. Rewinds the stream."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    try:
        while chunk := stream.read(1 << 20):
            line += decoder.decode(chunk).count("\n")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            _("The file is not valid %(encoding)s text after line %(line)s.")
            % {"line": line, "encoding": encoding}
        ) from exc
    finally:
        stream.seek(0)


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
    # The same file from its first row again (a second pass), when it can be read twice.
    reopen: Callable[[], Table] | None = None


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

    def reopen() -> Table:
        stream.seek(0)
        return read_table(stream, filename=filename, size=size)

    if fmt == "xlsx":
        estimate, xlsx_rows = XLSXFormat().iter_rows(stream)
        return _with_header(
            "xlsx", "", xlsx_rows, lambda line: line / estimate if estimate else 0, reopen
        )
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
        reopen,
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
        lambda: read_upload(data, filename=filename),
    )


def _with_header(
    fmt: str,
    encoding: str,
    rows: Iterator[tuple[int, list[Any]]],
    fraction_at: Callable[[int], float],
    reopen: Callable[[], Table] | None = None,
) -> Table:
    found = next(((n, cells) for n, cells in rows if not is_blank(cells)), None)
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
        reopen=reopen,
    )


# --- Mapping rows ------------------------------------------------------------------------


def is_blank(cells: Sequence[Any]) -> bool:
    return all(cell_text(cell) == "" for cell in cells)


def cell_text(value: Any) -> str:
    """A cell as stripped text; numbers as a spreadsheet shows them (13800138000, not 1.38e10)."""
    if value is None:
        return ""
    if type(value) is str:  # what a CSV holds: first, and without the checks below
        if _UNSTORABLE.search(value) is not None:
            value = _UNSTORABLE.sub("", value)
        return value.strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    text = str(value)
    # ``search`` first: ``sub`` builds its replacement on every call, even with no match
    # (a third of a line-level import's parsing time was spent there).
    if _UNSTORABLE.search(text) is not None:
        text = _UNSTORABLE.sub("", text)
    return text.strip()


def run_on_file(
    run: Callable[[Table], dict[str, Any]],
    *,
    filename: str,
    data: bytes | None = None,
    path: Path | None = None,
) -> dict[str, Any]:
    """``run(table)`` on a CSV or XLSX file held in memory (``data``) or on disk (``path``,
    streamed: a text file's encoding is checked to its end before any row is read)."""
    if path is None:
        return run(read_upload(data or b"", filename=filename))
    with path.open("rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        table = read_table(stream, filename=filename, size=size)
        if table.encoding:
            check_decodes(stream, table.encoding)
            table = read_table(stream, filename=filename, size=size)
        return run(table)
