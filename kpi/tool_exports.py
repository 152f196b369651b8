"""Export profiles: how the files that common tools export map onto the datasets, in one table.

A PM drops in what Stripe, Mixpanel, Jira or Google Ads wrote, without renaming a column. Each
profile below says, as data, how to recognise one tool's export (a few headers it always has),
which dataset it is, which of its columns are which, which rows to leave out (failed payments,
issues that are not bugs, anonymous visitors) and which values to derive (a canceled-at-period-end
subscription ends at the period end; an ad platform's channel is the platform). ``compile_rules``
turns a profile into SQL over the file's raw columns, with every value bound as a parameter.

Headers are compared the way ``datasets.normalise_name`` does ('Created date (UTC)' and
'created_date_utc' are one), then with bracketed parts left out ('Amount spent (USD)' is
'Amount spent'). Where a profile's layout comes from is said in its ``source``: the fixtures in
``shared/fixtures/exports`` were checked; the others follow the vendors' documentation and
common exports and are unverified against a real file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .datasets import normalise_name
from .vocabulary import BUG_WORDS, FALSE_WORDS, ISSUE_STAGES, TRUE_WORDS

# The words of the columns a stage or a flag is read from: a cell may hold a list ("Bug, UI").
LIST_SPLIT = r"[,;|]"
WORD_SPLIT = r"[,;|\s]+"
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


# --- the vocabulary of a profile ------------------------------------------------------------
@dataclass(frozen=True)
class When:
    """A condition on one column of the file (every column of that name, when it repeats).

    ``op``: ``in`` / ``not_in`` (value, case-insensitive), ``in_words`` (value compared without punctuation:
    'Submitted For Settlement' is 'submittedforsettlement'), ``empty`` / ``not_empty``,
    ``true`` / ``false`` (any common spelling), ``has_item`` (a list cell holds one of the values,
    compared without punctuation), ``starts_with``, ``matches`` (a regular expression).
    """
    column: str
    op: str
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class DropRows:
    """Rows where ``when`` holds are left out of the dataset (counted, and said why)."""
    when: When
    why: str
    question: str | None = None        # a question whose answer can turn this rule off
    only_if_minority: bool = False     # not applied when it would drop half of the file or more


@dataclass(frozen=True)
class KeepRows:
    """Only rows where ``when`` holds are kept."""
    when: When
    why: str
    question: str | None = None


@dataclass(frozen=True)
class Fill:
    """``target`` takes the value of ``source`` where ``when`` holds (and, with ``only_if_empty``,
    only where the target's own column is empty)."""
    target: str
    source: str
    when: When
    only_if_empty: bool = False
    why: str = ""
    question: str | None = None


@dataclass(frozen=True)
class Constant:
    """``target`` is the same text on every row (an ad platform's channel is the platform)."""
    target: str
    value: str
    why: str = ""


@dataclass(frozen=True)
class FlagWords:
    """``target`` (a true/false column) is true where one of ``sources`` holds one of ``words``."""
    target: str
    sources: tuple[str, ...]
    words: tuple[str, ...]
    split: str = WORD_SPLIT
    why: str = ""


@dataclass(frozen=True)
class StageWords:
    """``target`` is the first stage the ``sources`` name, in their order (environment, then
    labels). ``stages`` maps a canonical stage to the words that mean it."""
    target: str
    sources: tuple[str, ...]
    stages: tuple[tuple[str, tuple[str, ...]], ...]
    split: str = LIST_SPLIT
    why: str = ""


@dataclass(frozen=True)
class Sign:
    """``target`` (a number) is made negative where ``when`` holds (a refund row written as a positive amount)."""
    target: str
    when: When
    why: str = ""


Rule = DropRows | KeepRows
Derivation = Fill | Constant | FlagWords | StageWords | Sign


@dataclass(frozen=True)
class ExportProfile:
    tool: str
    family: str                                   # billing, analytics, issue tracker, help desk, ...
    dataset: str
    signature: tuple[str, ...]                    # headers that together say "this tool wrote it"
    columns: dict[str, tuple[str, ...]]           # canonical column or derived input -> header(s), first found
    rows: tuple[Rule, ...] = ()
    derive: tuple[Derivation, ...] = ()
    amounts: str = "units"                        # "units" or "cents": how money columns are written
    local_time: bool = False                      # times are in the account's zone, written without offset
    source: str = "vendor documentation and common exports (unverified against a real file)"
    notes: str = ""


PLATFORM_IS_CHANNEL = "the export has no channel column: the channel is the platform"

PROFILES: tuple[ExportProfile, ...] = (
    # ---- billing -----------------------------------------------------------------------------
    ExportProfile(
        "Stripe", "billing", "subscriptions",
        signature=("id", "Customer ID", "Plan", "Interval", "Amount", "Status", "Current Period End (UTC)",
                   "Cancel At Period End"),
        columns={"customer_id": ("Customer ID",), "start_date": ("Start Date (UTC)", "Start (UTC)", "Created (UTC)"),
                 "end_date": ("Ended At (UTC)",), "amount": ("Amount",), "quantity": ("Quantity",),
                 "billing_period": ("Interval",), "plan": ("Plan",), "product": ("Product",)},
        rows=(DropRows(When("Status", "in", ("incomplete", "incomplete_expired")),
                       "incomplete subscriptions never started paying"),),
        derive=(Fill("end_date", "Current Period End (UTC)", When("Cancel At Period End", "true"), only_if_empty=True,
                     why="a subscription canceled at the period end ends at Current Period End"),
                Fill("start_date", "Trial End (UTC)", When("Trial End (UTC)", "not_empty"),
                     why="a trial pays nothing: MRR starts when the trial ends", question="trial")),
        source="shared/fixtures/exports/stripe_subscriptions.csv (checked)",
        notes="Amount is the unit price in major units; Quantity multiplies it; Interval month/year."),
    ExportProfile(
        "Stripe", "billing", "payments",
        signature=("id", "Amount", "Amount Refunded", "Captured", "Status", "Customer ID"),
        columns={"customer_id": ("Customer ID",), "date": ("Created date (UTC)", "Created (UTC)"),
                 "amount": ("Amount",), "refund_amount": ("Amount Refunded",),
                 "refund_date": ("Refunded date (UTC)",)},
        rows=(DropRows(When("Status", "in", ("failed", "requires_payment_method", "requires_action",
                                             "requires_confirmation", "canceled")),
                       "failed payments are not revenue"),
              DropRows(When("Captured", "false"), "uncaptured charges are not revenue")),
        source="shared/fixtures/exports/stripe_payments.csv (checked)",
        notes="A refund is the Amount Refunded column of the charge: it becomes a negative row on its date."),
    ExportProfile(
        "Stripe", "billing", "customers",
        signature=("id", "Email", "Created (UTC)", "Delinquent"),
        columns={"customer_id": ("id",), "signup_date": ("Created (UTC)",)}),
    ExportProfile(
        "Chargebee", "billing", "subscriptions",
        signature=("subscriptions.id", "subscriptions.customer_id", "subscriptions.status"),
        columns={"customer_id": ("subscriptions.customer_id", "customers.id"),
                 "start_date": ("subscriptions.started_at", "subscriptions.activated_at", "subscriptions.created_at"),
                 "end_date": ("subscriptions.cancelled_at",),
                 "amount": ("subscriptions.plan_unit_price", "subscriptions.plan_amount"),
                 "quantity": ("subscriptions.plan_quantity",),
                 "billing_period": ("subscriptions.billing_period_unit",), "plan": ("subscriptions.plan_id",)},
        rows=(DropRows(When("subscriptions.status", "in", ("future",)), "future subscriptions have not started"),),
        derive=(Fill("start_date", "subscriptions.trial_end", When("subscriptions.trial_end", "not_empty"),
                     why="a trial pays nothing: MRR starts when the trial ends", question="trial"),)),
    ExportProfile(
        "Recurly", "billing", "subscriptions",
        signature=("account_code", "plan_code", "state", "activated_at"),
        columns={"customer_id": ("account_code",), "start_date": ("activated_at", "current_period_started_at"),
                 "end_date": ("expires_at",), "amount": ("unit_amount", "subscription_unit_amount",
                                                         "unit_amount_in_cents"),
                 "quantity": ("quantity",), "billing_period": ("plan_interval_unit", "interval_unit"),
                 "plan": ("plan_code", "plan_name")},
        rows=(DropRows(When("state", "in", ("future",)), "future subscriptions have not started"),),
        derive=(Fill("start_date", "trial_ends_at", When("trial_ends_at", "not_empty"),
                     why="a trial pays nothing: MRR starts when the trial ends", question="trial"),),
        notes="A canceled Recurly subscription runs until expires_at, which is its end date."),
    ExportProfile(
        "Paddle", "billing", "payments",
        signature=("id", "status", "customer_id", "currency_code", "billed_at", "origin"),
        columns={"customer_id": ("customer_id",), "date": ("billed_at", "created_at"),
                 "amount": ("grand_total", "total", "earnings")},
        rows=(KeepRows(When("status", "in", ("completed", "paid")),
                       "only completed or paid transactions are revenue"),)),
    # ---- product analytics --------------------------------------------------------------------
    ExportProfile(
        "Mixpanel", "analytics", "events",
        signature=("event", "time", "distinct_id", "$insert_id"),
        columns={"user_id": ("distinct_id",), "timestamp": ("time",), "event": ("event",)},
        rows=(DropRows(When("distinct_id", "starts_with", ("$device:",)),
                       "anonymous visitors ($device: ids) are not users", question="anonymous"),),
        source="shared/fixtures/exports/mixpanel_events.csv (checked)",
        notes="time is Unix seconds; mp_processing_time_ms is when Mixpanel received the event, not when it happened."),
    ExportProfile(
        "PostHog", "analytics", "events",
        signature=("*.uuid", "*.event", "*.distinct_id", "*.timestamp"),
        columns={"user_id": ("*.distinct_id",), "timestamp": ("*.timestamp",), "event": ("*.event",),
                 "session_id": ("*.properties.$session_id",)},
        rows=(DropRows(When("*.distinct_id", "matches", (UUID_RE,)),
                       "anonymous visitors (random UUID ids) are not users", question="anonymous",
                       only_if_minority=True),),
        source="shared/fixtures/exports/posthog_events.csv (checked)",
        notes="*.created_at is when PostHog ingested the event."),
    ExportProfile(
        "Amplitude", "analytics", "events",
        signature=("event_time", "event_type", "amplitude_id", "device_id"),
        columns={"user_id": ("user_id",), "timestamp": ("event_time",), "event": ("event_type",),
                 "session_id": ("session_id",)},
        notes="Events without a user_id are anonymous and left out as incomplete; session_id is an epoch id."),
    ExportProfile(
        "Segment", "analytics", "events",
        signature=("anonymous_id", "user_id", "event", "timestamp", "received_at"),
        columns={"user_id": ("user_id",), "timestamp": ("timestamp", "original_timestamp"), "event": ("event",)},
        notes="received_at and sent_at are delivery times, not event times."),
    ExportProfile(
        "Heap", "analytics", "events",
        signature=("event_id", "user_id", "session_id", "time", "identity"),
        columns={"user_id": ("identity", "user_id"), "timestamp": ("time",),
                 "event": ("event_name", "type", "event_type"), "session_id": ("session_id",)},
        notes="identity is your user id; Heap's user_id is its own number for a browser."),
    # ---- issue trackers -----------------------------------------------------------------------
    ExportProfile(
        "Jira", "issue tracker", "defects",
        signature=("Issue key", "Issue id", "Issue Type", "Summary", "Created"),
        columns={"defect_id": ("Issue key",), "found_date": ("Created",), "stage": ("Environment",),
                 "severity": ("Priority",), "component": ("Components",)},
        rows=(KeepRows(When("Issue Type", "in", ("bug", "defect")), "only bugs are defects", question="defects"),),
        derive=(StageWords("stage", ("Environment", "Labels"), ISSUE_STAGES,
                           why="the stage is read from Environment, else from the labels"),),
        source="shared/fixtures/exports/jira_issues.csv (checked)",
        notes="Components, Labels, Sprint repeat once per value; dates follow the site's format "
              "('05/Mar/24 10:12 AM')."),
    ExportProfile(
        "Azure DevOps", "issue tracker", "defects",
        signature=("ID", "Work Item Type", "Title", "State"),
        columns={"defect_id": ("ID",), "found_date": ("Created Date",), "severity": ("Severity", "Priority"),
                 "component": ("Area Path",)},
        rows=(KeepRows(When("Work Item Type", "in", ("bug",)), "only bugs are defects", question="defects"),),
        derive=(StageWords("stage", ("Found In Environment", "Environment", "Tags"), ISSUE_STAGES,
                           why="the stage is read from the environment, else from the tags"),)),
    ExportProfile(
        "Linear", "issue tracker", "defects",
        signature=("ID", "Team", "Title", "Status", "Priority", "Labels", "Cycle Number"),
        columns={"defect_id": ("ID",), "found_date": ("Created",), "severity": ("Priority",),
                 "component": ("Project", "Team")},
        rows=(KeepRows(When("Labels", "has_item", BUG_WORDS), "only issues labelled Bug are defects",
                       question="defects"),),
        derive=(StageWords("stage", ("Labels",), ISSUE_STAGES, why="the stage is read from the labels"),)),
    ExportProfile(
        "GitHub", "issue tracker", "defects",
        signature=("number", "title", "state", "labels", "created_at"),
        columns={"defect_id": ("number",), "found_date": ("created_at",), "component": ("milestone",)},
        rows=(KeepRows(When("labels", "has_item", BUG_WORDS), "only issues labelled bug are defects",
                       question="defects"),),
        derive=(StageWords("stage", ("labels",), ISSUE_STAGES, why="the stage is read from the labels"),)),
    # ---- help desks ---------------------------------------------------------------------------
    ExportProfile(
        "Zendesk", "help desk", "tickets",
        signature=("Id", "Requester id", "Created at", "Solved at", "Via"),
        columns={"ticket_id": ("Id",), "created_at": ("Created at",), "resolved_at": ("Solved at",),
                 "customer_id": ("Requester external id", "Requester id"),
                 "first_response_minutes": ("First reply time in minutes",)},
        derive=(FlagWords("escalated", ("Tags",), ("escalated", "escalation"), split=r"\s+",
                          why="a ticket tagged escalated was escalated"),),
        local_time=True,
        source="shared/fixtures/exports/zendesk_tickets.csv (checked)",
        notes="Times are in the account's time zone, without an offset."),
    ExportProfile(
        "Freshdesk", "help desk", "tickets",
        signature=("Ticket ID", "Created time", "Resolved time", "First response time"),
        columns={"ticket_id": ("Ticket ID",), "created_at": ("Created time",),
                 "first_response_at": ("Initial response time",), "resolved_at": ("Resolved time", "Closed time"),
                 "customer_id": ("Contact ID", "Requester ID"), "first_response_hours": ("First response time",)},
        derive=(FlagWords("escalated", ("Tags",), ("escalated", "escalation"), split=LIST_SPLIT,
                          why="a ticket tagged escalated was escalated"),),
        local_time=True),
    ExportProfile(
        "Intercom", "help desk", "tickets",
        signature=("Conversation ID", "Conversation started at"),
        columns={"ticket_id": ("Conversation ID",), "created_at": ("Conversation started at",),
                 "first_response_at": ("First response at", "First admin reply at"),
                 "resolved_at": ("Last closed at", "Closed at"),
                 "customer_id": ("User external ID", "Contact external ID", "User ID"),
                 "first_response_seconds": ("Time to first response",)},
        local_time=True),
    # ---- status pages -------------------------------------------------------------------------
    ExportProfile(
        "Atlassian Statuspage", "status page", "incidents",
        signature=("id", "name", "status", "impact", "started_at", "resolved_at", "shortlink"),
        columns={"started_at": ("started_at",), "ended_at": ("resolved_at",), "service": ("components.0.name",),
                 "severity": ("impact",)},
        source="shared/fixtures/exports/statuspage_incidents.csv (checked)",
        notes="created_at is when the incident was posted; an unresolved incident has no end and is left out."),
    # ---- surveys ------------------------------------------------------------------------------
    ExportProfile(
        "Typeform", "survey", "surveys",
        signature=("#", "Submit Date (UTC)", "Network ID"),
        columns={"date": ("Submit Date (UTC)",)},
        source="shared/fixtures/exports/typeform_responses.csv (checked)",
        notes="The score column is named by its question; partial responses have no Submit Date."),
    ExportProfile(
        "SurveyMonkey", "survey", "surveys",
        signature=("Respondent ID", "Collector ID", "Start Date", "End Date"),
        columns={"date": ("End Date",), "respondent_id": ("Respondent ID",)},
        notes="Two header rows (question, then answer option); dates are written MM/DD/YYYY hh:mm:ss AM."),
    ExportProfile(
        "Google Forms", "survey", "surveys",
        signature=("Timestamp", "Email Address"),
        columns={"date": ("Timestamp",), "respondent_id": ("Email Address",)},
        notes="Timestamps like 2024/04/03 10:10:29 AM GMT+2."),
    # ---- ad platforms -------------------------------------------------------------------------
    ExportProfile(
        "Google Ads", "ads", "marketing",
        signature=("Day", "Campaign", "Cost", "Clicks", "Impr."),
        columns={"date": ("Day",), "campaign": ("Campaign",), "spend": ("Cost",), "visitors": ("Clicks",)},
        derive=(Constant("channel", "Google Ads", why=PLATFORM_IS_CHANNEL),),
        source="shared/fixtures/exports/google_ads_campaigns.csv (checked)",
        notes="A title and a date range above the header; 'Total:' rows below the data."),
    ExportProfile(
        "Microsoft Ads", "ads", "marketing",
        signature=("Campaign", "Spend", "Clicks", "Impr."),
        columns={"date": ("Day", "Time period", "Date"), "campaign": ("Campaign", "Campaign name"),
                 "spend": ("Spend",), "visitors": ("Clicks",)},
        derive=(Constant("channel", "Microsoft Ads", why=PLATFORM_IS_CHANNEL),)),
    ExportProfile(
        "Meta Ads", "ads", "marketing",
        signature=("Campaign name", "Amount spent", "Reporting starts", "Reporting ends"),
        columns={"date": ("Day", "Reporting starts"), "campaign": ("Campaign name",), "spend": ("Amount spent",),
                 "visitors": ("Link clicks", "Clicks (all)")},
        derive=(Constant("channel", "Meta Ads", why=PLATFORM_IS_CHANNEL),),
        notes="Without a daily breakdown a row covers Reporting starts to Reporting ends."),
    ExportProfile(
        "LinkedIn Ads", "ads", "marketing",
        signature=("Campaign Name", "Total Spent", "Impressions", "Clicks", "Campaign Group Name"),
        columns={"date": ("Start Date (in UTC)", "Start Date"), "campaign": ("Campaign Name",),
                 "spend": ("Total Spent",), "visitors": ("Clicks",)},
        derive=(Constant("channel", "LinkedIn Ads", why=PLATFORM_IS_CHANNEL),),
        notes="A few report lines above the header; dates written M/D/YYYY."),
    # ---- CRM ----------------------------------------------------------------------------------
    ExportProfile(
        "HubSpot", "CRM", "customers",
        signature=("Record ID", "Create Date", "Lifecycle Stage"),
        columns={"customer_id": ("User ID", "External ID", "Record ID"), "signup_date": ("Create Date",),
                 "channel": ("Original Source",), "converted_date": ("Became a Customer Date",)},
        local_time=True,
        source="shared/fixtures/exports/hubspot_contacts.csv (checked)",
        notes="Record ID is HubSpot's own id; your app's id is a custom property (here 'User ID')."),
)


# An ad platform's export without a profile of its own still says, in its file name, which
# platform it is: with no channel column, that platform is the channel.
AD_PLATFORM_WORDS = {
    "google": "Google Ads", "adwords": "Google Ads", "meta": "Meta Ads", "facebook": "Meta Ads",
    "instagram": "Meta Ads", "linkedin": "LinkedIn Ads", "bing": "Microsoft Ads", "microsoft": "Microsoft Ads",
    "tiktok": "TikTok Ads", "twitter": "X Ads", "reddit": "Reddit Ads", "snapchat": "Snapchat Ads",
    "pinterest": "Pinterest Ads", "quora": "Quora Ads", "amazon": "Amazon Ads", "apple": "Apple Search Ads",
}


def _platform_profile(platform: str) -> ExportProfile:
    return ExportProfile(
        platform, "ads", "marketing", signature=(), columns={},
        derive=(Constant("channel", platform,
                         why="the export has no channel column: the file name names the platform"),),
        source="the file name (no profile of this platform's layout)")


def platform_from_file_name(file_name: str | None) -> ExportProfile | None:
    """The ad platform a file's name names ('google_ads_2024-04.csv'), as a profile that only sets the channel."""
    if not file_name:
        return None
    words = re.findall(r"[a-z]+", str(file_name).lower())
    for word in words:
        if word in AD_PLATFORM_WORDS:
            return _platform_profile(AD_PLATFORM_WORDS[word])
    return None


# Any issue tracker (YouTrack, Shortcut, ClickUp, ...): where a type column or the labels say which
# issues are bugs, only those are defects, and the stage is read from environment, labels or tags.
ISSUE_TYPE_HEADERS = ("Issue Type", "Issue type", "Work Item Type", "Type", "Kind", "Story Type", "Ticket Type",
                      "Issue Category")
ISSUE_LABEL_HEADERS = ("Labels", "Label", "Tags", "Tag")
ISSUE_STAGE_SOURCES = ("Environment", "Found In", "Found In Environment", "Labels", "Label", "Tags", "Tag")


def issue_tracker_profile(columns: Iterable[str], sample) -> ExportProfile | None:
    """A profile for an issue tracker without one of its own, when the file marks its bugs."""
    columns = list(columns)

    def marks_bugs(header: str, split: str) -> bool:
        col = find_column(columns, header)
        if col is None or sample is None or col not in getattr(sample, "columns", ()):
            return False
        values = sample[col]
        if hasattr(values, "columns"):   # a repeated header
            values = values.iloc[:, 0]
        items = {normalise_name(x) for v in values.dropna().astype(str) for x in re.split(split, v)}
        return bool(items & set(BUG_WORDS)) and bool(items - set(BUG_WORDS) - {""})

    rule = None
    for header in ISSUE_TYPE_HEADERS:
        if marks_bugs(header, r"$^"):
            rule = KeepRows(When(header, "in", BUG_WORDS), f"only issues whose {header} is Bug are defects",
                            question="defects")
            break
    if rule is None:
        for header in ISSUE_LABEL_HEADERS:
            if marks_bugs(header, LIST_SPLIT):
                rule = KeepRows(When(header, "has_item", BUG_WORDS), f"only issues labelled bug are defects",
                                question="defects")
                break
    if rule is None:
        return None
    return ExportProfile(
        "issue tracker", "generic", "defects", signature=(), columns={}, rows=(rule,),
        derive=(StageWords("stage", ISSUE_STAGE_SOURCES, ISSUE_STAGES,
                           why="the stage is read from the environment, labels or tags"),),
        source="the file's type or label column (no profile of this tracker's layout)")


# --- matching a file to a profile -----------------------------------------------------------
def _plain(header: str) -> str:
    return normalise_name(header)


def _unbracketed(header: str) -> str:
    return normalise_name(re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", "", str(header)))


def _base_of_repeat(column: str, columns: set[str]) -> str:
    """'Labels_2' is the second 'Labels' (``detect.unique_names`` numbered it)."""
    m = re.match(r"^(.*)_(\d+)$", column)
    return m.group(1) if m and m.group(1) in columns else column


def find_columns(columns: Iterable[str], header: str) -> list[str]:
    """Every file column a profile's header means, in file order ('Labels' finds Labels, Labels_2)."""
    columns = list(columns)
    present = set(columns)
    exact = [c for c in columns if _plain(_base_of_repeat(c, present)) == _plain(header)]
    if exact:
        return exact
    loose = _unbracketed(header)
    return [c for c in columns if loose and _unbracketed(_base_of_repeat(c, present)) == loose]


def find_column(columns: Iterable[str], *headers: str) -> str | None:
    for h in headers:
        found = find_columns(columns, h)
        if found:
            return found[0]
    return None


def match(columns: Iterable[str], dataset: str | None = None) -> ExportProfile | None:
    """The profile whose signature the header holds (the one with the longest signature wins)."""
    columns = list(columns)
    best = None
    for profile in PROFILES:
        if dataset is not None and profile.dataset != dataset:
            continue
        if all(find_columns(columns, h) for h in profile.signature):
            if best is None or len(profile.signature) > len(best.signature):
                best = profile
    return best


def profile_for(tool: str | None, dataset: str | None) -> ExportProfile | None:
    for profile in PROFILES:
        if profile.tool == tool and profile.dataset == dataset:
            return profile
    if dataset == "marketing" and tool in AD_PLATFORM_WORDS.values():
        return _platform_profile(tool)
    return None


def generic_profile(columns: Iterable[str], sample, file_name: str | None, dataset: str | None) -> ExportProfile | None:
    """What a file without a profile of its own still shows: its ad platform, or its bugs."""
    if dataset in (None, "marketing"):
        found = platform_from_file_name(file_name)
        if found is not None:
            return found
    if dataset in (None, "defects"):
        return issue_tracker_profile(columns, sample)
    return None


def mapping_for(profile: ExportProfile, columns: Iterable[str]) -> dict[str, str]:
    """Canonical column (or derived input) -> the file column the profile names for it."""
    columns = list(columns)
    out = {}
    for canon, headers in profile.columns.items():
        found = find_column(columns, *headers)
        if found is not None:
            out[canon] = found
    return out


def derived_for(profile: ExportProfile, columns: Iterable[str]) -> dict[str, str]:
    """Canonical columns the profile makes without a column of their own: {column: how}."""
    columns = list(columns)
    out = {}
    for d in profile.derive:
        if isinstance(d, Constant):
            out[d.target] = f"'{d.value}' ({d.why})" if d.why else f"'{d.value}'"
        elif isinstance(d, (FlagWords, StageWords)) and any(find_columns(columns, s) for s in d.sources):
            out.setdefault(d.target, d.why or f"from {', '.join(d.sources)}")
    return out


def rule_notes(profile: ExportProfile) -> list[str]:
    """The profile's rules in words, for the user to read before loading."""
    notes = [r.why for r in profile.rows] + [d.why for d in profile.derive if d.why]
    return [n for n in notes if n]


# --- turning a profile into SQL ---------------------------------------------------------------
@dataclass
class CompiledRules:
    """SQL over the raw text columns (c0, c1, ...), with the bound values in textual order."""
    synthetic: dict[str, tuple[str, list]] = field(default_factory=dict)   # canonical column -> value
    drops: list[tuple[str, str, list, bool]] = field(default_factory=list)  # (why, drop condition, params, minority)
    applied: list[str] = field(default_factory=list)                      # rules that apply, in words


def _norm_sql(expr: str) -> str:
    return f"lower(trim(CAST({expr} AS VARCHAR)))"


def _condition(when: When, columns: list[str], ref: Callable[[str], str]) -> tuple[str, list] | None:
    """SQL that is true where the condition holds (never NULL); None when the file lacks the column."""
    found = find_columns(columns, when.column)
    if not found:
        return None
    parts, params = [], []
    for col in found:
        v = _norm_sql(ref(col))
        if when.op in ("in", "not_in"):
            marks = ", ".join("?" for _ in when.values)
            params.extend(x.lower() for x in when.values)
            test = f"{v} IN ({marks})"
            parts.append(f"coalesce({test}, false)" if when.op == "in" else f"NOT coalesce({test}, false)")
        elif when.op == "in_words":
            params.append([normalise_name(x) for x in when.values])
            parts.append(f"coalesce(list_contains(?, regexp_replace({v}, '[^a-z0-9]+', '', 'g')), false)")
        elif when.op == "empty":
            parts.append(f"coalesce({v}, '') = ''")
        elif when.op == "not_empty":
            parts.append(f"coalesce({v}, '') <> ''")
        elif when.op in ("true", "false"):
            words = TRUE_WORDS if when.op == "true" else FALSE_WORDS
            params.extend(words)
            parts.append(f"coalesce({v} IN ({', '.join('?' for _ in words)}), false)")
        elif when.op == "has_item":
            params.extend([LIST_SPLIT, [normalise_name(x) for x in when.values]])
            parts.append(f"coalesce(list_has_any(list_transform(regexp_split_to_array({v}, ?), "
                         f"lambda x: regexp_replace(x, '[^a-z0-9]+', '', 'g')), ?), false)")
        elif when.op == "starts_with":
            parts.append("(" + " OR ".join(f"coalesce(starts_with({v}, ?), false)" for _ in when.values) + ")")
            params.extend(x.lower() for x in when.values)
        elif when.op == "matches":
            parts.append("(" + " OR ".join(f"coalesce(regexp_matches({v}, ?), false)" for _ in when.values) + ")")
            params.extend(when.values)
        else:
            raise ValueError(f"unknown condition {when.op!r}")
    joiner = " AND " if when.op in ("not_in", "empty") else " OR "
    return "(" + joiner.join(parts) + ")", params


def _items_sql(expr: str, split: str, params: list) -> str:
    params.append(split)
    return (f"list_transform(regexp_split_to_array(lower(CAST({expr} AS VARCHAR)), ?), "
            f"lambda x: regexp_replace(x, '[^a-z0-9]+', '', 'g'))")


def compile_rules(profile: ExportProfile, columns: list[str], mapping: dict[str, str], ref: Callable[[str], str],
                  *, disabled: set[str] = frozenset(), skip_targets: set[str] = frozenset(),
                  stage_default: str | None = None) -> CompiledRules:
    """SQL for the profile's row rules and derivations on this file.

    ``ref`` names the raw SQL column of a file column; ``mapping`` is the final canonical mapping
    (a derivation's target keeps its own column where the rule does not apply). Rules tied to a
    question in ``disabled`` are left out, and so are derivations of ``skip_targets`` (columns the
    user mapped by hand).
    """
    out = CompiledRules()
    for rule in profile.rows:
        if rule.question and rule.question in disabled:
            continue
        cond = _condition(rule.when, columns, ref)
        if cond is None:
            continue
        sql, params = cond
        if isinstance(rule, KeepRows):
            sql = f"NOT {sql}"
        out.drops.append((rule.why, sql, params, getattr(rule, "only_if_minority", False)))
        out.applied.append(rule.why)
    for d in profile.derive:
        if getattr(d, "question", None) and d.question in disabled:
            continue
        if d.target in skip_targets and not isinstance(d, (Fill, Sign)):   # these adjust whichever column is mapped
            continue
        if isinstance(d, (Constant, FlagWords)) and d.target in mapping:   # the file has that column itself
            continue
        own = f"NULLIF(trim(CAST({ref(mapping[d.target])} AS VARCHAR)), '')" if d.target in mapping else "NULL"
        own_params: list = []
        if d.target in out.synthetic and isinstance(d, (Fill, Sign)):   # a second rule on one column builds on the first
            own, own_params = f"({out.synthetic[d.target][0]})", list(out.synthetic[d.target][1])
        params: list = []
        if isinstance(d, Constant):
            sql = "CAST(? AS VARCHAR)"
            params = [d.value]
        elif isinstance(d, Fill):
            src = find_column(columns, d.source)
            cond = _condition(d.when, columns, ref)
            if src is None or cond is None:
                continue
            when_sql, when_params = cond
            params = list(when_params)
            if d.only_if_empty:
                when_sql = f"{own} IS NULL AND {when_sql}"
                params = own_params + params
            sql = f"CASE WHEN {when_sql} THEN NULLIF(trim(CAST({ref(src)} AS VARCHAR)), '') ELSE {own} END"
            params += own_params
        elif isinstance(d, Sign):
            cond = _condition(d.when, columns, ref)
            if cond is None or d.target not in mapping:
                continue
            when_sql, when_params = cond
            params = list(when_params) + own_params + own_params
            sql = (f"CASE WHEN {when_sql} AND NOT starts_with(coalesce({own}, ''), '-') "
                   f"THEN '-' || {own} ELSE {own} END")
        elif isinstance(d, FlagWords):
            sources = [c for s in d.sources for c in find_columns(columns, s)]
            if not sources:
                continue
            tests = []
            for c in sources:
                items = _items_sql(ref(c), d.split, params)
                params.append([normalise_name(w) for w in d.words])
                tests.append(f"coalesce(list_has_any({items}, ?), false)")
            sql = f"CASE WHEN {' OR '.join(tests)} THEN 'true' ELSE 'false' END"
        elif isinstance(d, StageWords):
            sources = [c for s in d.sources for c in find_columns(columns, s)]
            if not sources:
                continue
            picks = []
            for c in sources:
                for stage, words in d.stages:
                    items = _items_sql(ref(c), d.split, params)
                    params.extend([[normalise_name(w) for w in words], stage])
                    picks.append(f"CASE WHEN coalesce(list_has_any({items}, ?), false) THEN ? END")
            # a value no word list knows ('Beta') is kept as written; an empty one takes the default
            fallback = own
            if stage_default:
                params.append(stage_default)
                fallback = f"{own}, CAST(? AS VARCHAR)"
            sql = f"coalesce({', '.join(picks)}, {fallback})"
        else:  # pragma: no cover - the vocabulary above is closed
            raise TypeError(d)
        out.synthetic[d.target] = (sql, params)
        if d.why:
            out.applied.append(d.why)
    return out
