"""Use cases of the platform and the customer master. Callers import from ``crm.services``;
the modules behind it are an implementation detail."""

from crm.services.bulk_tags import (
    BULK_TAG_SYNC_LIMIT,
    BulkTagCountChanged,
    BulkTagOutcome,
    BulkTagRefused,
    check_bulk_tag_permission,
    tag_customers,
    tag_matching_customers,
)
from crm.services.consents import record_consent
from crm.services.customers import (
    IdentityInput,
    Resolution,
    add_tag,
    clean_attributes,
    normalize_identities,
    normalize_identity,
    record_event,
    remove_tag,
    resolve_customer,
)
from crm.services.duplicates import find_duplicate_candidates, record_duplicate_candidate
from crm.services.merge import MergeRefused, dismiss_candidate, merge_customers
from crm.services.metrics import (
    InvalidReferenceDate,
    MetricsRun,
    recompute_metrics,
    reference_date,
    snapshot_metrics,
    snapshot_month,
)
from crm.services.notes import InvalidNote, add_note, pin_note
from crm.services.notifications import InvalidNotification, mark_notifications_read, notify
from crm.services.pii import (
    IdentitySearchesExhausted,
    RevealNotAllowed,
    check_identity_search,
    pii_search_digest,
    record_pii_search,
    reveal_identities,
    search_customers,
)
from crm.services.platform import (
    IssuedKey,
    JobAlreadyFinished,
    UnknownJobKind,
    UnknownScope,
    housekeeping,
    issue_api_key,
    purge_finished_jobs,
    purge_idempotency_keys,
    request_job_cancel,
    revoke_api_keys,
    set_user_language,
    start_job,
)
from crm.services.transaction_bulk import ingest_transactions_bulk
from crm.services.transaction_input import (
    ExternalIdTaken,
    IngestBusy,
    IngestResult,
    InvalidTransaction,
    RowError,
    TransactionInput,
)
from crm.services.transaction_results import IngestWarning, WarningLog, register_warning
from crm.services.transactions import ingest_transaction, ingest_transactions
from crm.services.workspace import (
    RECENT_VIEWS_KEPT,
    InvalidSavedView,
    SavedViewNameTaken,
    UnknownList,
    delete_view,
    known_list,
    record_recent_view,
    rename_view,
    sanitize_query,
    save_view,
)

__all__ = [
    "BULK_TAG_SYNC_LIMIT",
    "RECENT_VIEWS_KEPT",
    "BulkTagCountChanged",
    "BulkTagOutcome",
    "BulkTagRefused",
    "ExternalIdTaken",
    "IdentityInput",
    "IdentitySearchesExhausted",
    "IngestBusy",
    "IngestResult",
    "IngestWarning",
    "InvalidNote",
    "InvalidReferenceDate",
    "InvalidSavedView",
    "InvalidTransaction",
    "IssuedKey",
    "JobAlreadyFinished",
    "MergeRefused",
    "MetricsRun",
    "Resolution",
    "RevealNotAllowed",
    "RowError",
    "SavedViewNameTaken",
    "TransactionInput",
    "UnknownJobKind",
    "UnknownList",
    "UnknownScope",
    "WarningLog",
    "add_note",
    "add_tag",
    "check_bulk_tag_permission",
    "check_identity_search",
    "clean_attributes",
    "delete_view",
    "dismiss_candidate",
    "find_duplicate_candidates",
    "housekeeping",
    "ingest_transaction",
    "ingest_transactions",
    "ingest_transactions_bulk",
    "issue_api_key",
    "known_list",
    "merge_customers",
    "normalize_identities",
    "normalize_identity",
    "pii_search_digest",
    "pin_note",
    "purge_finished_jobs",
    "purge_idempotency_keys",
    "recompute_metrics",
    "record_consent",
    "record_duplicate_candidate",
    "record_event",
    "record_pii_search",
    "record_recent_view",
    "reference_date",
    "register_warning",
    "remove_tag",
    "rename_view",
    "request_job_cancel",
    "resolve_customer",
    "reveal_identities",
    "revoke_api_keys",
    "sanitize_query",
    "save_view",
    "search_customers",
    "set_user_language",
    "snapshot_metrics",
    "snapshot_month",
    "start_job",
    "tag_customers",
    "tag_matching_customers",
]
from crm.services.blacklist import (
    BlacklistNotAllowed,
    BlacklistRefused,
    CustomerBlacklisted,
    approve_blacklisting,
    approve_lifting,
    assert_not_blacklisted,
    move_blacklist_entries,
    propose_blacklisting,
    propose_lifting,
    reject_blacklisting,
    reject_lifting,
)
from crm.services.settlement import (
    StatementRefused,
    allow_ledger_reassign,
    approve_statement,
    mark_statement_settled,
    record_settlement_lines,
)

__all__ += [
    "BlacklistNotAllowed",
    "BlacklistRefused",
    "CustomerBlacklisted",
    "approve_blacklisting",
    "approve_lifting",
    "assert_not_blacklisted",
    "move_blacklist_entries",
    "propose_blacklisting",
    "propose_lifting",
    "reject_blacklisting",
    "reject_lifting",
]

__all__ += [
    "StatementRefused",
    "allow_ledger_reassign",
    "approve_statement",
    "mark_statement_settled",
    "record_settlement_lines",
]

__all__ += ["InvalidNotification", "mark_notifications_read", "notify"]
