"""What a vendor's recorded facts say on a given day: pure functions over schema objects.

A BAA in force and what it covers, the breach-notification limit, security attestations,
certificate validity and assessment intervals. The engine's vendor predicates and the HIPAA
features (the mapping and the security risk analysis) both read them, so they sit in the
model layer, below both.
"""

from __future__ import annotations

from datetime import date

from threatgraph.model.schema import Element, VendorProfile
from threatgraph.model.validate import DERIVED_NOTE

#: Certifications that count as an independent security attestation of a vendor.
SECURITY_ATTESTATIONS = frozenset({"soc2_type2", "iso27001", "hitrust", "fedramp"})

#: How old a business associate's written verification of its safeguards may be (the 2025
#: proposed rule asks for one at least every 12 months).
VERIFICATION_INTERVAL_DAYS = 365

#: The proposed rule's limit for a business associate to report activating its contingency
#: plan.
CONTINGENCY_NOTICE_LIMIT_HOURS = 24

#: HIPAA's outer limit for a business associate to notify a covered entity of a breach
#: (45 CFR 164.410(b)): a breach-notification term longer than this does not count.
BREACH_NOTIFICATION_LIMIT_DAYS = 60


def baa_in_force(profile: VendorProfile, day: date) -> bool:
    """The profile records a BAA that is signed (or undated) and not expired on ``day``."""
    agreement = profile.baa
    if agreement is None:
        return False
    if agreement.signed is not None and agreement.signed > day:
        return False
    return agreement.expires is None or agreement.expires >= day


def baa_covers(vendor: Element, hosted_id: str, day: date | None = None) -> bool:
    """Whether the vendor's BAA covers a hosted element (on ``day``, when given).

    A BAA with no service list, or with '*', covers everything the vendor hosts; a bare
    ``vendor.baa`` control (no profile BAA) is taken to cover everything too. With a day,
    an agreement not yet signed or already expired covers nothing.
    """
    agreement = vendor.vendor.baa if vendor.vendor is not None else None
    if agreement is None:
        # Recorded as none: a declaration cannot stand in for it.
        none = vendor.vendor is not None and "baa" in vendor.vendor.none
        return not none and "vendor.baa" in vendor.control_ids()
    if day is not None and vendor.vendor is not None and not baa_in_force(vendor.vendor, day):
        return False
    services = agreement.services
    return not services or "*" in services or hosted_id in services


def effective_controls(el: Element, day: date) -> frozenset[str]:
    """An element's controls as of ``day``: for vendors, recorded facts decide.

    Where the vendor profile records the fact behind a control, the fact wins over a
    declaration: ``vendor.baa`` holds while the BAA is in force, ``vendor.security_certification``
    while some security attestation is current, ``vendor.ongoing_monitoring`` while the last
    assessment is within the review interval, and ``vendor.contract_breach_notification``
    when the notification window is recorded and within 60 days. Where no fact is recorded,
    a declared control counts (a clause alone does not state a window, so the control
    derived from the ``breach_notification`` clause needs ``breach_notification_days``).
    """
    ids = set(el.control_ids())
    prof = el.vendor
    if prof is None:
        return frozenset(ids)

    def decide(cid: str, holds: bool | None) -> None:
        if holds is True:
            ids.add(cid)
        elif holds is False:
            ids.discard(cid)

    decide(
        "vendor.baa",
        (False if "baa" in prof.none else None) if prof.baa is None else baa_in_force(prof, day),
    )
    attestations = [c for c in prof.certifications if c.name in SECURITY_ATTESTATIONS]
    decide(
        "vendor.security_certification",
        (False if "certifications" in prof.none else None)
        if not attestations
        else any(c.expires is None or c.expires >= day for c in attestations),
    )
    decide(
        "vendor.safeguard_verification",
        (False if "verification" in prof.none else None)
        if prof.verification is None
        else not verification_overdue(prof, day),
    )
    hours = prof.contingency_notice_hours
    decide(
        "vendor.contract_contingency_notice",
        None if hours is None else hours <= CONTINGENCY_NOTICE_LIMIT_HOURS,
    )
    # Recorded training contradicts a no-training clause: neither wins until someone
    # reconciles them (TG-VEN-014 reports it), so the clause does not count.
    if prof.trains_on_customer_data is True:
        ids.discard("vendor.contract_no_training")
    decide(
        "vendor.ongoing_monitoring",
        None if prof.last_assessment is None else not assessment_overdue(prof, day),
    )
    days = prof.breach_notification_days
    if days is not None:
        decide("vendor.contract_breach_notification", days <= BREACH_NOTIFICATION_LIMIT_DAYS)
    elif any(
        c.id == "vendor.contract_breach_notification" and c.note == DERIVED_NOTE
        for c in el.controls
    ):
        ids.discard("vendor.contract_breach_notification")
    return frozenset(ids)


def cert_valid(vendor: Element, name: str, day: date) -> bool:
    """The vendor holds this certification and it has not expired on ``day``."""
    certs = vendor.vendor.certifications if vendor.vendor is not None else ()
    return any(x.name == name and (x.expires is None or x.expires >= day) for x in certs)


def verification_overdue(profile: VendorProfile, day: date) -> bool:
    """No written safeguard verification on record, or the last is over a year old."""
    if profile.verification is None:
        return True
    return (day - profile.verification.date).days > VERIFICATION_INTERVAL_DAYS


def expiring(profile: VendorProfile, day: date, window_days: int) -> list[str]:
    """The BAA and certifications in force on ``day`` that end within ``window_days``."""
    horizon = day.toordinal() + window_days
    out: list[str] = []
    agreement = profile.baa
    if (
        agreement is not None
        and agreement.expires is not None
        and baa_in_force(profile, day)
        and agreement.expires.toordinal() <= horizon
    ):
        out.append(f"BAA ends {agreement.expires}")
    for cert in profile.certifications:
        if cert.expires is not None and day <= cert.expires and cert.expires.toordinal() <= horizon:
            out.append(f"{cert.name} ends {cert.expires}")
    return out


def assessment_overdue(profile: VendorProfile, day: date) -> bool:
    """No security assessment on record, or the last is older than the review interval."""
    if profile.last_assessment is None:
        return True
    return (day - profile.last_assessment).days > profile.review_interval_days
