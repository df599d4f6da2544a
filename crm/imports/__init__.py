"""Importing transactions from CSV and XLSX files.

A thin entry point in front of ``crm.services.ingest_transactions_bulk``: it decodes the file,
reads its rows, maps every row to a ``TransactionInput`` and hands them to the service, which
validates, deduplicates and stores them chunk by chunk, with the same result as the batch path
``ingest_transactions`` (``import_table(bulk=False)``). Nothing here writes a transaction.

Column layout (the first non-blank row holds the headers; English names or the Chinese
aliases in ``crm.imports.columns.COLUMNS``; header case, spaces and hyphens do not matter;
unknown columns are ignored; ``ImportOptions.mapping`` names the columns explicitly):

=====================  ==========================  =========================================
column                 aliases (some)              value
=====================  ==========================  =========================================
external_id *          订单号, 单号, InvoiceNo     the order id in the source system
occurred_at *          下单时间, 时间, InvoiceDate ISO 8601 or ``YYYY-MM-DD HH:MM[:SS]``
                                                   (also ``/`` or 年月日); no offset: a time
                                                   in ``ImportOptions.time_zone``
amount *               金额, 订单金额, 实付金额    under ``ImportOptions.decimal_mark``:
                                                   ``1,234.50`` or ``1.234,50``; ``¥`` ignored
currency               币种, 货币                  ISO 4217 code or alias (人民币/RMB/元/¥ =
                                                   CNY, £ = GBP, 港币 = HKD…); empty: the
                                                   options' currency; anything else: an error
channel                渠道                        a channel code or 门店, 天猫, 京东, …;
                                                   empty: the import's default channel
kind                   类型, 交易类型              purchase/cancellation, 购买/退货 (default
                                                   purchase; a cancellation's amount is ≤ 0)
original_external_id   原订单号                    the order a cancellation refunds
mobile                 手机, 手机号, 手机号码      identities of the customer; none = a guest
email                  邮箱, 电子邮箱
wechat_unionid         微信unionid, unionid
customer_external_id   客户编号, 会员号, CustomerID ``source:id``; a bare number gets the
                                                   import's source (12923 → pos:12923)
name                   姓名, 客户名称, 客户姓名    the customer's name when a new one is made
region                 国家, 地区, Country         the customer's region when one is made
lines                  明细, 商品明细              optional JSON list of objects
sku, product           商品编码, 商品名称, …       order-line columns: one row per line (see
quantity, unit_price   数量, 单价                  below); ``amount`` is then optional
line_amount            行金额, 小计
=====================  ==========================  =========================================

``*`` = required (``amount`` not when the rows are order lines). Id columns (order ids,
customer ids, mobiles) undo what spreadsheets do to numbers: ``12347.0`` and ``1.2347E4`` are
``12347`` (``12347.5`` is not an integral number and stays the text it is: ids may hold
dots); an id a spreadsheet probably rounded (15 or more digits ending in zeros) is kept
and warned about; scientific notation that lost digits is a row error.

Rows that are order lines (the file has a line column: sku, product, quantity, unit price or
line amount) are grouped by order id wherever they are in the file: one order whose lines are
those rows and whose amount is their sum (checked against an amount column, if any); an order
whose quantities are all negative is a cancellation. An order id stored before with other
content (amount, time, currency, kind, customer, lines) is a row error; the same content a
duplicate. A cancellation naming an order not stored yet is linked when that order arrives.

A dry run is the real run rolled back (``dry_run=True``): its counts, errors and warnings
are what the import will do; ``warnings`` also says which orders look
stored already under another source, which ids a spreadsheet rounded, and so on.

A row's line is the row number a spreadsheet shows (the header row is 1). A row that cannot be
mapped (a date or amount that is not one) becomes a ``RowError`` with its line, column and
reason; the other rows are still imported. Text files may be UTF-8 (with or without BOM),
UTF-16 with BOM, or GBK/GB18030, as Chinese Excel saves them.

Other records (accounts, contacts, later members) are imported on the same machinery by a
``RecordImporter`` (``crm.imports.records``): a ``ColumnSet`` (Chinese and English header
names, required columns, labels: what ``suggest_mapping``, saved ``ImportMapping``s of the
importer's kind, the mapping form and the template use), a row parser and a row applier
calling the app's services, each row atomic in its savepoint; the dry run is the run rolled
back. ``crm.imports.record_jobs.register_importer`` (from the app's ``ready``) registers it and
its job kind; ``crm.web.record_imports`` gives it its screens.

Why not django-import-export's ``Resource`` and tablib's CSV reader: a ``Resource`` saves
model instances one by one (the service stores a batch in a handful of statements), tablib
reads the whole file into a ``Dataset``, drops blank lines (so line numbers would drift) and
refuses rows longer than the header. The format classes of import-export are used for what
they are good at here (file type, content type, writing the error report); rows are read with
``csv`` and openpyxl in read-only mode, one at a time.
"""

from crm.imports.columns import (
    COLUMNS,
    LINE_COLUMNS,
    REQUIRED_COLUMNS,
    TRANSACTION_COLUMNS,
    ColumnSet,
    column_positions,
    missing_columns,
    normalize_header,
    suggest_positions,
)
from crm.imports.currencies import CURRENCY_ALIASES, ISO_CURRENCIES, parse_currency
from crm.imports.files import (
    MAX_UPLOAD_BYTES,
    MAX_XLSX_MEMBERS,
    MAX_XLSX_UNPACKED_BYTES,
    SNIFF_BYTES,
    CSVFormat,
    ImportFileError,
    Table,
    XLSXFormat,
    cell_text,
    check_xlsx_archive,
    decode_upload,
    detect_format,
    read_table,
    read_upload,
    sniff_encoding,
)
from crm.imports.inspect import Inspection, inspect_table
from crm.imports.numbers import detect_decimal_mark, normalize_id
from crm.imports.options import DECIMAL_COMMA, DECIMAL_POINT, ImportOptions
from crm.imports.record_jobs import (
    get_importer,
    record_importers,
    register_importer,
    run_record_import,
    start_record_import,
)
from crm.imports.records import RecordContext, RecordImporter, RowProblem, import_records
from crm.imports.reports import MAX_REPORTED_ERRORS, error_report_csv, neutralize_formula
from crm.imports.rows import (
    IMPORT_TIME_ZONE,
    map_line,
    map_row,
    parse_amount,
    parse_lines,
    parse_occurred_at,
)
from crm.imports.running import (
    BATCH_SIZE,
    IMPORT_JOB_KIND,
    RESULT_LABELS,
    ImportOutcome,
    delete_upload,
    import_table,
    import_transactions_job,
    purge_stale_uploads,
    run_transaction_import,
    store_upload,
    upload_path,
    uploads_dir,
)

__all__ = [
    "BATCH_SIZE",
    "COLUMNS",
    "CURRENCY_ALIASES",
    "DECIMAL_COMMA",
    "DECIMAL_POINT",
    "IMPORT_JOB_KIND",
    "IMPORT_TIME_ZONE",
    "ISO_CURRENCIES",
    "LINE_COLUMNS",
    "MAX_REPORTED_ERRORS",
    "MAX_UPLOAD_BYTES",
    "MAX_XLSX_MEMBERS",
    "MAX_XLSX_UNPACKED_BYTES",
    "REQUIRED_COLUMNS",
    "RESULT_LABELS",
    "SNIFF_BYTES",
    "TRANSACTION_COLUMNS",
    "CSVFormat",
    "ColumnSet",
    "ImportFileError",
    "ImportOptions",
    "ImportOutcome",
    "Inspection",
    "RecordContext",
    "RecordImporter",
    "RowProblem",
    "Table",
    "XLSXFormat",
    "cell_text",
    "check_xlsx_archive",
    "column_positions",
    "decode_upload",
    "delete_upload",
    "detect_decimal_mark",
    "detect_format",
    "error_report_csv",
    "get_importer",
    "import_records",
    "import_table",
    "import_transactions_job",
    "inspect_table",
    "map_line",
    "map_row",
    "missing_columns",
    "neutralize_formula",
    "normalize_header",
    "normalize_id",
    "parse_amount",
    "parse_currency",
    "parse_lines",
    "parse_occurred_at",
    "purge_stale_uploads",
    "read_table",
    "read_upload",
    "record_importers",
    "register_importer",
    "run_record_import",
    "run_transaction_import",
    "sniff_encoding",
    "start_record_import",
    "store_upload",
    "suggest_positions",
    "upload_path",
    "uploads_dir",
]
