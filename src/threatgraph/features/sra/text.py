"""Fixed wording shared by the Markdown and HTML renderings of the risk analysis."""

from __future__ import annotations

METHOD = (
    "Method: the system is described as a threat model (components, trust boundaries, data "
    "with its classification, flows, vendors and declared controls). threatgraph matched that "
    "model against its versioned library of AI and classic threats; each match is a finding "
    "with the controls that would mitigate it, marked present or missing where the model "
    "declares them. Dates (certificate expiry, BAA terms, vendor reviews, risk acceptances) "
    "are evaluated as of the analysis date. Likelihood and impact are rated per finding as "
    "section 4 explains."
)

LIMITATIONS = (
    "This analysis covers what the threat model describes, as of the analysis date. It cannot "
    "see components, data flows or vendors the model leaves out, and it takes declared controls "
    "at their word: a control counts as present when the model declares it, and evidence is "
    "listed as cited, not verified here (threatgraph check verifies cited repository paths). "
    "The library's rules are a catalogue of known threats, not a proof that no other threat "
    "exists. The analysis supports, but does not replace, the organisation's judgement and its "
    "enterprise-wide risk analysis; producing it does not by itself make the system compliant "
    "with HIPAA. Re-run it whenever the model changes and at least by the next review date."
)

STATUS_TEXT = {
    "open": "open",
    "mitigated": "mitigated",
    "accepted": "accepted",
    "false_positive": "false positive",
}

SAFEGUARD_STATUS = {"evidenced": "evidenced", "declared": "declared", "none": "none"}


def yes_no(value: bool) -> str:
    """'yes' or 'no'."""
    return "yes" if value else "no"
