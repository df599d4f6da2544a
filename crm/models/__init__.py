"""Models of the platform (units, users, keys, jobs) and of the customer master."""

import crm.models.lookups  # noqa: F401  (registers field__ilike)
from crm.models.activity import (
    Consent,
    ConsentChannel,
    ConsentPurpose,
    TimelineEvent,
)
from crm.models.customers import (
    IDENTITY_STRENGTH,
    PII_IDENTITY_TYPES,
    Customer,
    CustomerKind,
    Gender,
    Identity,
    IdentityType,
)
from crm.models.duplicates import (
    DuplicateCandidate,
    DuplicateReason,
    DuplicateStatus,
    Merge,
    PiiAccess,
)
from crm.models.imports import ImportMapping
from crm.models.metrics import (
    SEGMENT_GRID,
    CustomerMetrics,
    EngagementStage,
    LifecycleStage,
    MetricsSnapshot,
    RfmSegment,
    rfm_segment_of,
)
from crm.models.metrics_settings import MetricsSettings
from crm.models.notes import NOTE_MAX_LENGTH, CustomerNote
from crm.models.notifications import (
    NOTIFICATION_LINK_MAX,
    NOTIFICATION_TITLE_MAX,
    UNREAD_COUNT_CAP,
    Notification,
)
from crm.models.platform import (
    FINISHED_JOB_STATUSES,
    TIME_ZONE_CHOICES,
    ApiKey,
    BusinessUnit,
    CrmUserManager,
    IdempotencyKey,
    Industry,
    Job,
    JobStatus,
    RateCounter,
    Role,
    User,
)
from crm.models.sources import SourceSystem
from crm.models.tags import (
    CustomerTag,
    Tag,
    TagCategory,
)
from crm.models.transactions import (
    COMPLETED_PURCHASE,
    Channel,
    Transaction,
    TransactionKind,
    TransactionStatus,
)
from crm.models.unit_metrics import CustomerUnitMetrics, UnitStageThresholds
from crm.models.workspace import RecentView, SavedView

__all__ = [
    "COMPLETED_PURCHASE",
    "FINISHED_JOB_STATUSES",
    "IDENTITY_STRENGTH",
    "NOTE_MAX_LENGTH",
    "PII_IDENTITY_TYPES",
    "TIME_ZONE_CHOICES",
    "ApiKey",
    "BusinessUnit",
    "Channel",
    "Consent",
    "ConsentChannel",
    "ConsentPurpose",
    "CrmUserManager",
    "Customer",
    "CustomerKind",
    "CustomerNote",
    "CustomerTag",
    "CustomerUnitMetrics",
    "DuplicateCandidate",
    "DuplicateReason",
    "DuplicateStatus",
    "Gender",
    "IdempotencyKey",
    "Identity",
    "IdentityType",
    "ImportMapping",
    "Industry",
    "Job",
    "JobStatus",
    "Merge",
    "PiiAccess",
    "RateCounter",
    "RecentView",
    "Role",
    "SavedView",
    "SourceSystem",
    "Tag",
    "TagCategory",
    "TimelineEvent",
    "Transaction",
    "TransactionKind",
    "TransactionStatus",
    "UnitStageThresholds",
    "User",
]
from crm.models.blacklist import (
    BLACKLIST_TEXT_MAX,
    BlacklistEntry,
    BlacklistReason,
    BlacklistStatus,
)
from crm.models.segments import (
    SEGMENT_NAME_MAX,
    Segment,
    SegmentMember,
    SegmentMode,
    SegmentSnapshot,
    TagRule,
)
from crm.models.settlement import (
    AppendOnlyModel,
    AppendOnlyQuerySet,
    LedgerIsAppendOnly,
    SettlementLine,
    SettlementSource,
    SettlementStatement,
    StatementStatus,
    append_only_trigger_sql,
)

__all__ += ["BLACKLIST_TEXT_MAX", "BlacklistEntry", "BlacklistReason", "BlacklistStatus"]

__all__ += [
    "AppendOnlyModel",
    "AppendOnlyQuerySet",
    "LedgerIsAppendOnly",
    "SettlementLine",
    "SettlementSource",
    "SettlementStatement",
    "StatementStatus",
    "append_only_trigger_sql",
]

__all__ += ["NOTIFICATION_LINK_MAX", "NOTIFICATION_TITLE_MAX", "UNREAD_COUNT_CAP", "Notification"]
__all__ += [
    "SEGMENT_GRID",
    "CustomerMetrics",
    "EngagementStage",
    "LifecycleStage",
    "MetricsSettings",
    "MetricsSnapshot",
    "RfmSegment",
    "rfm_segment_of",
]
__all__ += [
    "SEGMENT_NAME_MAX",
    "Segment",
    "SegmentMember",
    "SegmentMode",
    "SegmentSnapshot",
    "TagRule",
]
