"""Use cases of the platform and the customer master. Callers import from ``crm.services``;
the modules behind it are an implementation detail."""

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
from crm.services.transaction_input import (
    ExternalIdTaken,
    IngestBusy,
    IngestResult,
    InvalidTransaction,
    RowError,
    TransactionInput,
)
from crm.services.transactions import ingest_transaction, ingest_transactions

__all__ = [
    "ExternalIdTaken",
    "IdentityInput",
    "IdentitySearchesExhausted",
    "IngestBusy",
    "IngestResult",
    "InvalidTransaction",
    "IssuedKey",
    "JobAlreadyFinished",
    "MergeRefused",
    "Resolution",
    "RevealNotAllowed",
    "RowError",
    "TransactionInput",
    "UnknownJobKind",
    "UnknownScope",
    "add_tag",
    "check_identity_search",
    "clean_attributes",
    "dismiss_candidate",
    "find_duplicate_candidates",
    "housekeeping",
    "ingest_transaction",
    "ingest_transactions",
    "issue_api_key",
    "merge_customers",
    "normalize_identities",
    "normalize_identity",
    "pii_search_digest",
    "purge_finished_jobs",
    "purge_idempotency_keys",
    "record_consent",
    "record_duplicate_candidate",
    "record_event",
    "record_pii_search",
    "remove_tag",
    "request_job_cancel",
    "resolve_customer",
    "reveal_identities",
    "revoke_api_keys",
    "search_customers",
    "set_user_language",
    "start_job",
]
