"""Credit use cases: record evidence, complete a review, recompute one profile or all of them
(after admins changed the rule), flag the reviews that fell due, move credit rows on a merge.

Every recomputation locks the account's profile row first, reads all of its evidence, applies
the rule (``accounts.services.credit_scoring``) and writes one history row, in one
transaction: concurrent evidence on one account gives one history row per evidence and a
final score equal to the rule applied to all of it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.errors import CreditError, NotAllowed
from accounts.models import (
    Account,
    ChangeReason,
    CreditEvidence,
    CreditProfile,
    CreditScoreChange,
    CreditScoringRule,
    EvidenceEffect,
    EvidenceKind,
)
from accounts.models.credit import NOTE_MAX
from accounts.services.credit_scoring import Outcome, ScoringRule, score_evidence
from crm.jobs import JobContext, job_handler
from crm.services import record_event

ADD_PERMISSION = "accounts.add_creditevidence"
REVIEW_PERMISSION = "accounts.review_creditprofile"
EVENT_RATING_CHANGED = "credit.rating_changed"
BATCH = 500


def load_rule() -> ScoringRule:
    rule = CreditScoringRule.objects.prefetch_related("weights", "bands").first()
    if rule is None or not rule.bands.all():
        raise CreditError(_("No credit scoring rule is configured; ask an administrator."))
    return ScoringRule.from_model(rule)


def _evidence_of(account_id: int) -> list[tuple[str, str, date]]:
    return list(
        CreditEvidence.objects.filter(account_id=account_id).values_list(
            "kind", "effect", "observed_on"
        )
    )


def _locked_profile(account: Account, rule: ScoringRule, today: date) -> tuple[CreditProfile, bool]:
    """The account's profile, locked; created (from its evidence so far) when it has none.
    Two first evidences at once: one creates, the other waits on the unique key and reads it."""
    outcome = score_evidence(rule, _evidence_of(account.pk), today)
    _profile, created = CreditProfile.objects.get_or_create(
        account_id=account.pk,
        defaults={
            "score": outcome.score,
            "rating": outcome.rating,
            "credit_limit": outcome.limit,
            "currency": outcome.currency,
            "next_review_on": today + timedelta(days=rule.review_interval_days),
            "computed_at": timezone.now(),
        },
    )
    return CreditProfile.objects.select_for_update().get(account_id=account.pk), created


def _apply(
    profile: CreditProfile,
    outcome: Outcome,
    *,
    created: bool,
    reason: str,
    evidence: CreditEvidence | None,
    actor: Any,
) -> CreditScoreChange:
    """Write ``outcome`` to the (locked) profile and its history row."""
    before = None if created else (profile.score, profile.rating, profile.credit_limit)
    profile.score, profile.rating = outcome.score, outcome.rating
    profile.credit_limit, profile.currency = outcome.limit, outcome.currency
    profile.computed_at = timezone.now()
    change = CreditScoreChange(
        account_id=profile.account_id,
        reason=reason,
        evidence=evidence,
        score_after=outcome.score,
        rating_after=outcome.rating,
        limit_after=outcome.limit,
        currency=outcome.currency,
        actor=actor if getattr(actor, "pk", None) else None,
    )
    if before is not None:
        change.score_before, change.rating_before, change.limit_before = before
    return change


def _record_rating_event(account: Account, change: CreditScoreChange, actor: Any) -> None:
    if change.rating_before == change.rating_after:
        return
    record_event(
        customer=account.customer_id,
        type=EVENT_RATING_CHANGED,
        summary=_("Credit rating %(before)s → %(after)s")
        % {"before": change.rating_before or "—", "after": change.rating_after},
        actor=actor if getattr(actor, "pk", None) else None,
        data={"before": change.rating_before, "after": change.rating_after},
    )


def recompute_credit(
    *,
    account: Account,
    actor: Any = None,
    reason: str = ChangeReason.RULE,
    evidence: CreditEvidence | None = None,
    reviewed: bool = False,
    rule: ScoringRule | None = None,
) -> CreditScoreChange:
    """Recompute the account's profile from all its evidence; ``reviewed`` also moves the
    next review date (a review, or new evidence). One history row, always."""
    rule = rule or load_rule()
    today = timezone.localdate()
    with transaction.atomic():
        profile, created = _locked_profile(account, rule, today)
        outcome = score_evidence(rule, _evidence_of(account.pk), today)
        change = _apply(
            profile, outcome, created=created, reason=reason, evidence=evidence, actor=actor
        )
        if reviewed:
            profile.next_review_on = today + timedelta(days=rule.review_interval_days)
            profile.review_due = False
            profile.reviewed_at = timezone.now()
        profile.save()
        change.save()
        _record_rating_event(account, change, actor)
    return change


def _require(user: Any, permission: str) -> None:
    if not (getattr(user, "pk", None) and user.is_active and user.has_perm(permission)):
        raise NotAllowed(_("You may not change this account's credit."))


def _text(value: Any, field: str, label: str, limit: int, *, required: bool) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise CreditError(_("%(field)s is required.") % {"field": label}, field=field)
    if len(text) > limit:
        raise CreditError(
            _("%(field)s holds at most %(max)d characters.") % {"field": label, "max": limit},
            field=field,
        )
    return text


def add_credit_evidence(
    *,
    account: Account,
    user: Any,
    kind: str,
    effect: str,
    source: str,
    observed_on: date | None,
    value: str = "",
    note: str = "",
) -> CreditEvidence:
    """Record evidence and recompute the profile in the same transaction; the evidence
    counts as a review (the next review date moves)."""
    _require(user, ADD_PERMISSION)
    if kind not in EvidenceKind.values:
        raise CreditError(_("Choose a kind of evidence from the list."), field="kind")
    if effect not in EvidenceEffect.values:
        raise CreditError(_("Choose the evidence's effect from the list."), field="effect")
    source = _text(source, "source", _("Source"), 100, required=True)
    value = _text(value, "value", _("Value"), 200, required=False)
    note = _text(note, "note", _("Note"), NOTE_MAX, required=False)
    if observed_on is None:
        raise CreditError(_("Say when it was observed."), field="observed_on")
    if observed_on > timezone.localdate():
        raise CreditError(_("The observation date cannot be in the future."), field="observed_on")
    if observed_on < date(1949, 10, 1):
        raise CreditError(_("The observation date is too far in the past."), field="observed_on")
    rule = load_rule()
    with transaction.atomic():
        _locked_profile(account, rule, timezone.localdate())  # lock before writing
        evidence = CreditEvidence.objects.create(
            account=account,
            kind=kind,
            effect=effect,
            source=source,
            observed_on=observed_on,
            value=value,
            note=note,
            recorded_by=user,
        )
        recompute_credit(
            account=account,
            actor=user,
            reason=ChangeReason.EVIDENCE,
            evidence=evidence,
            reviewed=True,
            rule=rule,
        )
    return evidence


def complete_credit_review(*, account: Account, user: Any) -> CreditScoreChange:
    """A review without new evidence: recompute and move the next review date."""
    _require(user, REVIEW_PERMISSION)
    return recompute_credit(account=account, actor=user, reason=ChangeReason.REVIEW, reviewed=True)


def flag_due_credit_reviews(*, today: date | None = None) -> int:
    """Mark the profiles whose next review date has come (one UPDATE); they appear on their
    owners' home page until reviewed. Safe to run twice."""
    today = today or timezone.localdate()
    return CreditProfile.objects.filter(next_review_on__lte=today, review_due=False).update(
        review_due=True
    )


def recompute_all_credit(*, actor: Any = None, progress: Any = None) -> int:
    """Recompute every profile with the current rule, in batches of profiles (each batch one
    transaction: its rows locked, its evidence read in one query, changed profiles written
    with one bulk update and their history with one bulk insert). Returns how many changed;
    an unchanged profile gets no history row."""
    rule = load_rule()
    today = timezone.localdate()
    ids = list(CreditProfile.objects.order_by("id").values_list("id", flat=True))
    changed = 0
    for start in range(0, len(ids), BATCH):
        changed += _recompute_batch(ids[start : start + BATCH], rule, today, actor)
        if progress is not None:
            progress(100 * min(len(ids), start + BATCH) / len(ids))
    return changed


def _recompute_batch(ids: list[int], rule: ScoringRule, today: date, actor: Any) -> int:
    with transaction.atomic():
        profiles = list(CreditProfile.objects.select_for_update().filter(id__in=ids))
        evidence: dict[int, list[tuple[str, str, date]]] = {p.account_id: [] for p in profiles}
        for account_id, kind, effect, observed_on in CreditEvidence.objects.filter(
            account_id__in=list(evidence)
        ).values_list("account_id", "kind", "effect", "observed_on"):
            evidence[account_id].append((kind, effect, observed_on))
        dirty, changes = [], []
        for profile in profiles:
            outcome = score_evidence(rule, evidence[profile.account_id], today)
            if (outcome.score, outcome.rating, outcome.limit, outcome.currency) == (
                profile.score,
                profile.rating,
                profile.credit_limit,
                profile.currency,
            ):
                continue
            changes.append(
                _apply(
                    profile,
                    outcome,
                    created=False,
                    reason=ChangeReason.RULE,
                    evidence=None,
                    actor=actor,
                )
            )
            dirty.append(profile)
        CreditProfile.objects.bulk_update(
            dirty, ["score", "rating", "credit_limit", "currency", "computed_at"]
        )
        CreditScoreChange.objects.bulk_create(changes)
    return len(dirty)


@job_handler(
    "accounts.recompute_credit",
    label=gettext_lazy("Recompute credit profiles"),
    result_labels={"changed": gettext_lazy("Profiles changed")},
)
def recompute_credit_job(ctx: JobContext) -> dict[str, int]:
    ctx.progress(1, _("Recomputing credit profiles"))
    changed = recompute_all_credit(
        progress=lambda percent: ctx.progress(percent, _("Recomputing credit profiles"))
    )
    return {"changed": changed}


def move_credit_data(*, kept: Account, lost: Account) -> int:
    """On a merge of two accounts: the loser's evidence and history move to the survivor,
    the loser's profile goes, and the survivor's profile is recomputed from all evidence."""
    moved = CreditEvidence.objects.filter(account=lost).update(account=kept)
    moved += CreditScoreChange.objects.filter(account=lost).update(account=kept)
    had_profile = CreditProfile.objects.filter(account=lost).delete()[0] > 0
    if moved or had_profile or CreditProfile.objects.filter(account=kept).exists():
        recompute_credit(account=kept, reason=ChangeReason.MERGE)
    return moved
