"""The KPI catalog: one frozen record per KPI saying what it means, how it is worked out and what data it needs.

Reviewing a definition means reading one entry of ``CATALOG`` below (``../shared/spec/kpis.md`` is
the contract it follows). Stages and goals are not written here: they come from ``stages.py``,
so the wizard and the catalog cannot disagree. ``validate_catalog`` collects every inconsistency
instead of stopping at the first; a test asserts it finds none.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Mapping

from .datasets import DATASETS
from .errors import UnknownKpi
from .stages import GOALS, STAGES, goals_naming, stages_naming

CATEGORIES = ("Business and financial", "Customer and user", "Product development",
              "Customer behaviour", "Technical and quality")
PERSPECTIVES = ("financial", "customer", "internal process", "learning and growth")

# Each unit with the display preset a KPI of that unit gets unless its entry says otherwise.
UNITS: dict[str, str] = {
    "currency": "currency",
    "rate": "percent",      # a fraction: 0.053 is shown as 5.3 %
    "count": "int",
    "score": "decimal1",
    "minutes": "minutes",
    "hours": "hours",
    "days": "days",
    "points": "decimal1",
    "ratio": "decimal2",
    "per_kloc": "decimal2",
}
FORMATS = ("currency", "percent", "int", "decimal1", "decimal2", "minutes", "hours", "days")
DIRECTIONS = ("higher", "lower")
KINDS = ("stock", "flow")
METRIC_TYPES = ("simple", "ratio", "derived")   # MetricFlow's words


@dataclass(frozen=True)
class KPI:
    id: str
    name: str
    category: str        # one of CATEGORIES
    unit: str            # one of UNITS
    direction: str       # "higher" | "lower": which way is better
    kind: str            # "stock": a level on the period's last day; "flow": what happened during it
    leading: bool        # moves before results do (False: lagging)
    input: bool          # measures effort put in (False: output)
    qualitative: bool    # comes from what people say
    perspective: str     # balanced-scorecard perspective, one of PERSPECTIVES
    stages: tuple[str, ...]   # lifecycle stages whose primary or secondary lists name it
    goals: tuple[str, ...]    # goals whose primary or secondary lists name it
    description: str     # what it means and why a PM cares, in plain words
    formula: str         # the formula in words, faithful to kpis.md
    needs: tuple[str, ...]    # "dataset" or "dataset.column"; "x|y" means either; the first names the main dataset
    metric_type: str     # "simple" | "ratio" | "derived"
    numerator: str = ""
    denominator: str = ""
    format: str = ""     # display preset, one of FORMATS


def _kpi(**fields) -> KPI:
    """A catalog entry, with its stages and goals read from stages.py and its format from its unit."""
    fields.setdefault("format", UNITS.get(fields["unit"], ""))
    return KPI(stages=stages_naming(fields["id"]), goals=goals_naming(fields["id"]), **fields)


_BIZ, _USER, _DEV, _BEHAVIOUR, _TECH = CATEGORIES
_FIN, _CUST, _PROC, _LEARN = PERSPECTIVES

CATALOG: dict[str, KPI] = {k.id: k for k in (
    # -- Business and financial ---------------------------------------------------------------
    _kpi(id="mrr", name="Monthly recurring revenue", category=_BIZ, unit="currency",
         direction="higher", kind="stock", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="The recurring revenue your active subscriptions bring in each month, measured at the "
                     "end of the period. It is the lifeblood of a subscription product: predictable and "
                     "stable, it shows what you can count on next month. Tracking it helps you forecast "
                     "growth, plan resources and decide where to invest.",
         formula="The sum of the monthly recurring amounts (mrr) of every subscription active at the end of "
                 "the period (on the as-of date for a period still running)",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="arr", name="Annual recurring revenue", category=_BIZ, unit="currency",
         direction="higher", kind="stock", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="MRR scaled up to a year: what your current subscriptions would bring in over twelve "
                     "months if nothing changed. It is the figure boards and investors usually ask for, and "
                     "an easy one to set against annual plans and budgets.",
         formula="12 times the MRR at the end of the period",
         needs=("subscriptions",), metric_type="derived"),
    _kpi(id="mrr_growth_rate", name="MRR growth rate", category=_BIZ, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="How fast recurring revenue grows from one period to the next, as a percentage. It shows "
                     "your product's momentum in the market: a steady positive rate means new and growing "
                     "customers outweigh the ones who leave or pay less.",
         formula="MRR at the end of the period minus MRR at the end of the previous period, divided by MRR at "
                 "the end of the previous period",
         needs=("subscriptions",), metric_type="ratio",
         numerator="MRR at the end of the period minus MRR at the end of the previous period",
         denominator="MRR at the end of the previous period"),
    _kpi(id="new_mrr", name="New MRR", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="Recurring revenue won from brand-new paying customers in the period. It tells you "
                     "whether acquisition and trials bring in money, not just sign-ups.",
         formula="The sum of the MRR at the end of the period of customers who paid nothing at the end of the "
                 "previous period and whose first paid subscription started after it",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="expansion_mrr", name="Expansion MRR", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="Extra recurring revenue from existing customers who upgraded, added seats or bought "
                     "more. Growing expansion MRR shows that customers find more value over time and that "
                     "upselling and cross-selling work.",
         formula="Over customers who were paying at the end of the previous period and pay more at the end of "
                 "this one, the sum of the increase in their MRR",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="contraction_mrr", name="Contraction MRR", category=_BIZ, unit="currency",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_CUST,
         description="Recurring revenue lost to customers who downgraded or removed seats but stayed. It is an "
                     "early sign that customers get less value than they pay for, before they leave "
                     "altogether.",
         formula="Over customers who were paying at the end of the previous period and still pay, but less, at "
                 "the end of this one, the sum of the decrease in their MRR",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="churned_mrr", name="Churned MRR", category=_BIZ, unit="currency",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_CUST,
         description="Recurring revenue lost from customers who stopped paying in the period. Every unit lost "
                     "here has to be won back before MRR can grow, so it is the first leak to plug.",
         formula="The sum of the MRR at the end of the previous period of customers who were paying then and "
                 "pay nothing at the end of this period",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="reactivation_mrr", name="Reactivation MRR", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="Recurring revenue from former customers who came back. It shows how well win-back "
                     "campaigns and product improvements bring lost customers home.",
         formula="The sum of the MRR at the end of the period of customers who paid nothing at the end of the "
                 "previous period but whose first paid subscription started on or before it",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="net_new_mrr", name="Net new MRR", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="The net change in recurring revenue over the period: what you won minus what you lost. "
                     "It explains MRR growth by its moving parts, so you see whether it comes from new "
                     "customers, upgrades or fewer losses.",
         formula="New MRR plus reactivation MRR plus expansion MRR, minus contraction MRR and churned MRR; it "
                 "equals MRR at the end of the period minus MRR at the end of the previous period",
         needs=("subscriptions",), metric_type="derived"),
    _kpi(id="paying_customers", name="Paying customers", category=_BIZ, unit="count",
         direction="higher", kind="stock", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="How many customers pay you a recurring amount at the end of the period. Next to MRR it "
                     "tells you whether revenue grows through more customers or through more revenue per "
                     "customer.",
         formula="The number of customers whose active subscriptions add up to more than zero MRR at the end "
                 "of the period",
         needs=("subscriptions",), metric_type="simple"),
    _kpi(id="arpa", name="Average revenue per account", category=_BIZ, unit="currency",
         direction="higher", kind="stock", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="The average monthly recurring revenue per paying account. A rising ARPA usually means "
                     "customers move to bigger plans or buy more; a falling one can mean discounting or a "
                     "shift to smaller customers.",
         formula="MRR at the end of the period divided by the number of paying customers at the end of the "
                 "period",
         needs=("subscriptions",), metric_type="ratio",
         numerator="MRR at the end of the period",
         denominator="paying customers at the end of the period"),
    _kpi(id="revenue", name="Revenue", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="All the money received in the period, net of refunds. Unlike MRR it includes one-off "
                     "payments, so it is the figure that matches the bank account and the finance team's "
                     "books.",
         formula="The sum of the payment amounts dated in the period, refunds (negative amounts) included",
         needs=("payments",), metric_type="simple"),
    _kpi(id="arpu", name="Average revenue per user", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="How much revenue each active user brings in on average. It is key to understanding your "
                     "product's value and pricing: a rising ARPU often shows you are upselling or "
                     "cross-selling to the users you already have.",
         formula="Revenue in the period divided by the number of distinct users active in the period",
         needs=("payments", "events"), metric_type="ratio",
         numerator="revenue in the period", denominator="active users in the period"),
    _kpi(id="arppu", name="Average revenue per paying user", category=_BIZ, unit="currency",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="Revenue per customer who actually paid in the period. Next to ARPU it separates two "
                     "questions: how many users pay, and how much those who pay spend.",
         formula="Revenue in the period divided by the number of distinct customers with a payment above zero "
                 "in the period",
         needs=("payments",), metric_type="ratio",
         numerator="revenue in the period",
         denominator="distinct customers with a payment above zero in the period"),
    _kpi(id="new_product_revenue_share", name="% revenue from new products", category=_BIZ, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="The share of revenue that comes from recently launched products. It shows your team's "
                     "ability to innovate: a healthy share means new products create value that customers "
                     "pay for.",
         formula="The sum of the payments dated in the period whose product is new, divided by revenue in the "
                 "period; a product is new when its launch date (its earliest release date in releases) "
                 "lies within the 365 days up to the end of the period",
         needs=("payments.product", "releases.product"), metric_type="ratio",
         numerator="payments in the period for products launched in the 365 days up to the end of the period",
         denominator="revenue in the period"),
    _kpi(id="nps", name="Net Promoter Score", category=_BIZ, unit="score",
         direction="higher", kind="flow", leading=True, input=False, qualitative=True, perspective=_CUST,
         description="How likely your users are to recommend your product, from -100 (everyone would warn "
                     "others off) to +100 (everyone would recommend it). It is a strong sign of satisfaction "
                     "and loyalty: a high NPS usually goes with word-of-mouth growth and customers who stay.",
         formula="100 times the number of promoters (score 9 or 10) minus the number of detractors (score 0 to "
                 "6), divided by the number of NPS survey responses dated in the period; scores outside 0 to "
                 "10 are left out",
         needs=("surveys",), metric_type="ratio",
         numerator="promoters minus detractors, times 100",
         denominator="NPS survey responses in the period"),

    # -- Customer and user --------------------------------------------------------------------
    _kpi(id="signups", name="Sign-ups", category=_USER, unit="count",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many new users or accounts signed up in the period. It is the top of your funnel: "
                     "everything else, from first use to revenue, starts here.",
         formula="The number of customers whose sign-up date falls in the period",
         needs=("customers",), metric_type="simple"),
    _kpi(id="signup_rate", name="Sign-up rate", category=_USER, unit="rate",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="The share of visitors who sign up. It measures how well your website, message and "
                     "marketing turn interest into users, which matters most while you look for your first "
                     "customers.",
         formula="Sign-ups in the period divided by the number of visitors recorded in marketing in the period",
         needs=("customers", "marketing.visitors"), metric_type="ratio",
         numerator="sign-ups in the period", denominator="marketing visitors in the period"),
    _kpi(id="trial_conversion_rate", name="Trial conversion rate", category=_USER, unit="rate",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="The share of trial users who become paying customers. It is a critical check of your "
                     "onboarding and of how quickly people see the product's value; a low rate means trials "
                     "end before users are convinced.",
         formula="Of the customers whose trial started in the period, the share that have a conversion date "
                 "(whenever they converted)",
         needs=("customers.trial_start", "customers.converted_date"), metric_type="ratio",
         numerator="customers whose trial started in the period and who have a conversion date",
         denominator="customers whose trial started in the period"),
    _kpi(id="new_customers", name="New paying customers", category=_USER, unit="count",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many customers paid you for the first time in the period. It turns sign-ups into "
                     "what the business needs, and it is what acquisition cost is divided by.",
         formula="The number of customers whose first payment or first paid subscription falls in the period",
         needs=("subscriptions|payments",), metric_type="simple"),
    _kpi(id="clv", name="Customer lifetime value", category=_USER, unit="currency",
         direction="higher", kind="stock", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="An estimate of the revenue a customer brings over their whole relationship with your "
                     "product: the monthly revenue per account, times your margin, for as many months as the "
                     "average customer stays. A high CLV justifies spending more to win customers and shows "
                     "strong loyalty.",
         formula="ARPA at the end of the period times the gross margin, divided by the average monthly customer "
                 "churn rate over those of the last 6 calendar months ending on or before the end of the "
                 "period that have one; the gross margin is a workspace setting, 1.0 unless changed",
         needs=("subscriptions",), metric_type="derived"),
    _kpi(id="active_users", name="Active users", category=_USER, unit="count",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many different people used the product at least once in the period. It is the "
                     "simplest measure of your product's reach; for a rolling 30-day figure see monthly "
                     "active users.",
         formula="The number of distinct users with at least one event dated in the calendar period",
         needs=("events",), metric_type="simple"),
    _kpi(id="dau", name="Daily active users", category=_USER, unit="count",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many people use the product on a typical day of the period. It is one of the vital "
                     "signs of engagement: a product that is part of users' routine shows a high and growing "
                     "DAU.",
         formula="The average, over the days of the period from the first event's date up to the as-of date, "
                 "of the number of distinct users active that day; days without events count as zero",
         needs=("events",), metric_type="simple", format="decimal1"),
    _kpi(id="mau", name="Monthly active users (rolling 30 days)", category=_USER, unit="count",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many people used the product in the 30 days up to a typical day of the period. It "
                     "shows the size of your engaged user base and, next to DAU, how often those users come "
                     "back.",
         formula="The average, over the same days as daily active users, of the number of distinct users "
                 "active in the 30 days ending on that day",
         needs=("events",), metric_type="simple", format="decimal1"),
    _kpi(id="stickiness", name="Stickiness (DAU/MAU)", category=_USER, unit="rate",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="The share of monthly users who use the product on a given day. A growing DAU/MAU ratio "
                     "shows engagement deepening: people do not just try the product, they come back day "
                     "after day.",
         formula="Daily active users in the period divided by monthly active users in the period",
         needs=("events",), metric_type="ratio",
         numerator="daily active users in the period", denominator="monthly active users in the period"),
    _kpi(id="avg_session_duration", name="Average session duration", category=_USER, unit="minutes",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How long users spend in the product on each visit. Longer sessions often mean people "
                     "find value and engage deeply with its features; a sudden drop can point to friction "
                     "or a broken flow.",
         formula="The average length of the sessions that start in the period, from a session's first event "
                 "to its last; a session is one session id, or else a run of one user's events with no gap "
                 "of more than 30 minutes",
         needs=("events",), metric_type="simple"),
    _kpi(id="actions_per_session", name="Actions per session", category=_USER, unit="ratio",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many actions users take in a typical visit. It shows how deeply people use the "
                     "product each time and, broken down by segment, which users get the most out of it.",
         formula="The number of events of the sessions that start in the period divided by the number of "
                 "those sessions",
         needs=("events",), metric_type="ratio",
         numerator="events of the sessions starting in the period",
         denominator="sessions starting in the period"),
    _kpi(id="actions_per_user", name="Actions per user", category=_USER, unit="ratio",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="How many actions an active user takes in the period. It tells you whether engagement "
                     "grows because people do more, not only because more people show up.",
         formula="The number of events dated in the period divided by active users in the period",
         needs=("events",), metric_type="ratio",
         numerator="events dated in the period", denominator="active users in the period"),
    _kpi(id="retention_rate", name="User retention rate", category=_USER, unit="rate",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="The share of last period's active users who came back this period. It is the clearest "
                     "sign of lasting value: a product people keep using grows on top of its base instead of "
                     "refilling a leaky bucket.",
         formula="The number of users active in both the previous period and this one, divided by the number "
                 "of users active in the previous period",
         needs=("events",), metric_type="ratio",
         numerator="users active in both the previous period and this one",
         denominator="users active in the previous period"),

    # -- Product development ------------------------------------------------------------------
    _kpi(id="time_to_market", name="Time to market", category=_DEV, unit="days",
         direction="lower", kind="flow", leading=True, input=True, qualitative=False, perspective=_PROC,
         description="How long it takes to move a feature from the start of work to launch. A shorter time to "
                     "market gives you an edge over competitors and lets you answer what users need sooner.",
         formula="The median number of days from the start of work to the release, over the releases released "
                 "in the period",
         needs=("releases.started_date",), metric_type="simple"),
    _kpi(id="releases_shipped", name="Releases shipped", category=_DEV, unit="count",
         direction="higher", kind="flow", leading=True, input=True, qualitative=False, perspective=_PROC,
         description="How many features or products shipped in the period. It is a plain measure of delivery "
                     "pace; read it next to feature adoption to see whether what ships gets used.",
         formula="The number of releases with a release date in the period",
         needs=("releases",), metric_type="simple"),
    _kpi(id="feature_adoption_rate", name="Feature adoption rate", category=_DEV, unit="rate",
         direction="higher", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="The share of active users who use the features you shipped in the last 90 days. It shows "
                     "whether development effort matches what users need: a feature nobody adopts is cost "
                     "without value.",
         formula="The number of distinct users with an event, dated in the period and on or after that "
                 "feature's release date, whose name is the tracked event of a feature released in the 90 "
                 "days up to the end of the period, divided by active users in the period; no value when no "
                 "feature was released in that window",
         needs=("events", "releases.event"), metric_type="ratio",
         numerator="distinct users of a feature released in the 90 days up to the end of the period, counted "
                   "from its release date",
         denominator="active users in the period"),
    _kpi(id="velocity", name="Sprint velocity", category=_DEV, unit="points",
         direction="higher", kind="flow", leading=True, input=True, qualitative=False, perspective=_PROC,
         description="How much work the team completes per sprint, in story points. It is the basis of "
                     "realistic planning: a steady velocity makes a roadmap believable, while big swings "
                     "signal disruption. Compare a team only with itself, since points mean different things "
                     "to different teams.",
         formula="The average of the completed points of the sprints that ended in the period",
         needs=("sprints",), metric_type="simple"),
    _kpi(id="say_do_ratio", name="Say/do ratio", category=_DEV, unit="rate",
         direction="higher", kind="flow", leading=True, input=True, qualitative=False, perspective=_PROC,
         description="How much of what the team committed to at the start of its sprints it actually "
                     "delivered. Near 100 % means plans can be trusted; a low ratio means commitments are too "
                     "optimistic or work keeps getting interrupted.",
         formula="The total completed points divided by the total committed points, over the sprints that "
                 "ended in the period and record both",
         needs=("sprints.committed_points",), metric_type="ratio",
         numerator="points completed in the sprints that ended in the period",
         denominator="points committed in those sprints"),

    # -- Customer behaviour -------------------------------------------------------------------
    _kpi(id="trial_dropoff_rate", name="Trial drop-off rate", category=_BEHAVIOUR, unit="rate",
         direction="lower", kind="flow", leading=True, input=False, qualitative=False, perspective=_CUST,
         description="The share of trial users who reach the end of their trial without becoming paying "
                     "customers. A high drop-off rate can point to onboarding problems or a gap between what "
                     "users expect and what the product does. It groups trials by when they end, so it is not "
                     "simply one minus the trial conversion rate.",
         formula="Of the customers whose trial ended in the period, the share with no conversion date on or "
                 "before the end of their trial",
         needs=("customers.trial_end", "customers.converted_date"), metric_type="ratio",
         numerator="customers whose trial ended in the period without converting by its end",
         denominator="customers whose trial ended in the period"),
    _kpi(id="cac", name="Customer acquisition cost", category=_BEHAVIOUR, unit="currency",
         direction="lower", kind="flow", leading=False, input=True, qualitative=False, perspective=_FIN,
         description="How much marketing spend it takes to win one new paying customer. Keep it in check to "
                     "stay profitable, and read it next to customer lifetime value: a customer should bring "
                     "in well over what it cost to win them.",
         formula="Marketing spend in the period divided by the number of new paying customers in the period; "
                 "by channel, the channel's spend divided by the new customers who came through that channel",
         needs=("marketing", "subscriptions|payments"), metric_type="ratio",
         numerator="marketing spend in the period", denominator="new paying customers in the period"),
    _kpi(id="cpa", name="Cost per acquisition (sign-up)", category=_BEHAVIOUR, unit="currency",
         direction="lower", kind="flow", leading=False, input=True, qualitative=False, perspective=_FIN,
         description="How much marketing spend it takes to get one sign-up. It shows which channels bring "
                     "users cheaply, long before those users have had a chance to pay.",
         formula="Marketing spend in the period divided by sign-ups in the period",
         needs=("marketing", "customers"), metric_type="ratio",
         numerator="marketing spend in the period", denominator="sign-ups in the period"),
    # CLV and CAC both read subscriptions, which also gives CAC its new customers; payments, when
    # loaded, only moves a customer's first payment earlier, so it is not a need.
    _kpi(id="ltv_cac_ratio", name="LTV:CAC ratio", category=_BEHAVIOUR, unit="ratio",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="How many times a new customer pays back what it cost to win them. It tells you whether "
                     "growth is profitable: a ratio of about 3 or more is commonly seen as healthy, while "
                     "below 1 every new customer loses money.",
         formula="Customer lifetime value for the period divided by customer acquisition cost in the period",
         needs=("subscriptions", "marketing"), metric_type="ratio",
         numerator="customer lifetime value for the period",
         denominator="customer acquisition cost in the period"),
    _kpi(id="customer_churn_rate", name="Customer churn rate", category=_BEHAVIOUR, unit="rate",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_CUST,
         description="The share of paying customers who stopped paying during the period. A high churn rate "
                     "can point to problems with satisfaction, product-market fit or competition, and it caps "
                     "how big the business can grow.",
         formula="The number of customers paying at the end of the previous period and not paying at the end "
                 "of this one, divided by the number of customers paying at the end of the previous period",
         needs=("subscriptions",), metric_type="ratio",
         numerator="customers paying at the end of the previous period and not paying at the end of this one",
         denominator="customers paying at the end of the previous period"),
    _kpi(id="gross_mrr_churn_rate", name="Gross MRR churn rate", category=_BEHAVIOUR, unit="rate",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_CUST,
         description="The share of last period's recurring revenue lost to cancellations and downgrades, "
                     "before counting any upgrades or new business. It shows how leaky your revenue base is.",
         formula="Churned MRR plus contraction MRR in the period, divided by MRR at the end of the previous "
                 "period",
         needs=("subscriptions",), metric_type="ratio",
         numerator="churned MRR plus contraction MRR in the period",
         denominator="MRR at the end of the previous period"),
    _kpi(id="net_mrr_retention", name="Net MRR retention", category=_BEHAVIOUR, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_CUST,
         description="How much of last period's recurring revenue you kept, counting upgrades from the same "
                     "customers but no new ones. Above 100 % means existing customers grow faster than you "
                     "lose them, so the base grows even without new sales.",
         formula="MRR at the end of the previous period plus expansion MRR, minus contraction MRR and churned "
                 "MRR in the period, divided by MRR at the end of the previous period",
         needs=("subscriptions",), metric_type="ratio",
         numerator="MRR at the end of the previous period plus expansion, minus contraction and churned MRR "
                   "in the period",
         denominator="MRR at the end of the previous period"),
    _kpi(id="quick_ratio", name="SaaS quick ratio", category=_BEHAVIOUR, unit="ratio",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_FIN,
         description="How much recurring revenue you gain for every unit you lose. A ratio above 4 is often "
                     "taken as efficient growth; close to 1 means you are running to stand still.",
         formula="New MRR plus reactivation MRR plus expansion MRR, divided by contraction MRR plus churned "
                 "MRR, all in the period",
         needs=("subscriptions",), metric_type="ratio",
         numerator="new plus reactivation plus expansion MRR in the period",
         denominator="contraction plus churned MRR in the period"),
    _kpi(id="renewal_rate", name="Subscription renewal rate", category=_BEHAVIOUR, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_CUST,
         description="The share of subscriptions due for renewal that customers renewed. For a mature product "
                     "it is the moment of truth: each renewal is a customer deciding again that the product "
                     "is worth paying for.",
         formula="Of the renewals due in the period (a paid subscription comes up for renewal every billing "
                 "period after its start, while it is still running), the share that were renewed: the "
                 "subscription did not end by the renewal day, or the customer had another paid subscription "
                 "active that day",
         needs=("subscriptions",), metric_type="ratio",
         numerator="renewals due in the period that were renewed",
         denominator="renewals due in the period"),

    # -- Technical and quality ----------------------------------------------------------------
    _kpi(id="defect_density", name="Defect density", category=_TECH, unit="per_kloc",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="The number of defects found per thousand lines of code. A lower defect density means "
                     "better code quality, which leads to a better experience for users and less time spent "
                     "on fixes.",
         formula="The number of defects found in the period divided by the size of the code in thousands of "
                 "lines (kloc), read from the latest codebase row dated on or before the end of the period, "
                 "or from the earliest row when there is none",
         needs=("defects", "codebase"), metric_type="ratio",
         numerator="defects found in the period",
         denominator="thousands of lines of code at the end of the period"),
    _kpi(id="test_effectiveness", name="Test effectiveness (defect detection %)", category=_TECH, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="The share of defects your testing catches before they reach users. A high rate means a "
                     "smoother experience for customers and fewer emergency fixes for the team.",
         formula="The number of defects found in the period before release divided by the number found in the "
                 "period before release or in production",
         needs=("defects",), metric_type="ratio",
         numerator="defects found in the period before release (stage pre_release)",
         denominator="defects found in the period before release or in production"),
    _kpi(id="testing_speed", name="Test cycle time", category=_TECH, unit="minutes",
         direction="lower", kind="flow", leading=True, input=True, qualitative=False, perspective=_PROC,
         description="How long a typical run of the test suite takes. Faster test cycles give developers "
                     "quicker feedback, so the team can iterate faster and respond sooner.",
         formula="The median duration in minutes of the test runs started in the period",
         needs=("test_runs",), metric_type="simple"),
    _kpi(id="test_pass_rate", name="Test pass rate", category=_TECH, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="The share of tests that pass. A steady, high pass rate means the code is stable; a "
                     "falling one warns that quality is slipping before customers notice.",
         formula="The total number of tests minus the failed ones, divided by the total number of tests, over "
                 "the test runs started in the period that record both",
         needs=("test_runs.tests_total", "test_runs.tests_failed"), metric_type="ratio",
         numerator="tests that passed in the runs started in the period",
         denominator="tests run in those runs"),
    _kpi(id="escalated_tickets", name="Escalated tickets", category=_TECH, unit="count",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="How many support tickets had to be escalated to specialists or engineers. Tracking them "
                     "highlights recurring issues and places where the product falls short of what users "
                     "expect.",
         formula="The number of support tickets created in the period that were escalated",
         needs=("tickets.escalated",), metric_type="simple"),
    _kpi(id="escalation_rate", name="Ticket escalation rate", category=_TECH, unit="rate",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="The share of support tickets that had to be escalated. Unlike the raw count it does not "
                     "rise just because you have more users, so it shows whether problems are getting harder "
                     "to solve at first contact.",
         formula="Escalated tickets created in the period divided by all tickets created in the period",
         needs=("tickets.escalated",), metric_type="ratio",
         numerator="escalated tickets created in the period", denominator="tickets created in the period"),
    _kpi(id="support_response_time", name="Support first-response time", category=_TECH, unit="hours",
         direction="lower", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="How long customers typically wait for a first answer from support. Quick answers make "
                     "customers feel looked after; slow ones turn small problems into frustration and churn.",
         formula="The median number of hours from a ticket's creation to its first response, over the tickets "
                 "created in the period that have a first response",
         needs=("tickets.first_response_at",), metric_type="simple"),
    _kpi(id="support_cost", name="Customer support cost", category=_TECH, unit="currency",
         direction="lower", kind="flow", leading=False, input=True, qualitative=False, perspective=_FIN,
         description="What it costs to support your customers. A rising support cost often points to product "
                     "problems users have to ask for help with; fixing them frees money for building.",
         formula="The sum of the handling cost of the support tickets created in the period",
         needs=("tickets.cost",), metric_type="simple"),
    _kpi(id="uptime", name="Uptime", category=_TECH, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="The share of time the product was up and working. Users expect it to be there when they "
                     "need it: every outage costs trust, and for many customers uptime is part of the "
                     "contract.",
         formula="One minus the minutes of outage divided by the minutes of the period, counted from the start "
                 "of the period to the end of its last day up to the as-of date; minutes covered by "
                 "overlapping incidents count once",
         needs=("incidents",), metric_type="ratio",
         numerator="minutes of the period not covered by any incident",
         denominator="minutes of the period up to the end of its last day counted"),
    _kpi(id="compliance_rate", name="Compliance rate", category=_TECH, unit="rate",
         direction="higher", kind="flow", leading=False, input=False, qualitative=False, perspective=_PROC,
         description="The share of compliance checks that passed. For products in regulated industries it "
                     "shows the product meets the legal and industry rules it must follow, before an auditor "
                     "finds that it does not.",
         formula="The number of compliance checks dated in the period that passed, divided by the number of "
                 "checks dated in the period",
         needs=("compliance",), metric_type="ratio",
         numerator="compliance checks dated in the period that passed",
         denominator="compliance checks dated in the period"),
    _kpi(id="employee_satisfaction", name="Employee satisfaction", category=_TECH, unit="score",
         direction="higher", kind="flow", leading=True, input=False, qualitative=True, perspective=_LEARN,
         description="How satisfied the people who build and support the product are, from employee surveys. "
                     "Happy, engaged teams do better work and stay longer, so it is an early sign of what "
                     "will happen to delivery and quality.",
         formula="The average score of the employee survey responses dated in the period",
         needs=("surveys",), metric_type="simple"),
)}


def get(kpi_id: str) -> KPI:
    """The catalog entry of ``kpi_id``; an unknown id raises ``UnknownKpi`` naming the closest ids."""
    try:
        return CATALOG[kpi_id]
    except (KeyError, TypeError):
        pass
    close = difflib.get_close_matches(str(kpi_id), list(CATALOG), n=3, cutoff=0.6)
    hint = (f"did you mean {' or '.join(close)}?" if close
            else "see `python -m kpi catalog` for every KPI id")
    raise UnknownKpi(f"unknown KPI {kpi_id!r} — {hint}", value=str(kpi_id), hint=hint)


# -- what a KPI needs, and what the loaded data lacks -----------------------------------------
def _split(need: str) -> tuple[str, str | None]:
    ds, _, col = need.partition(".")
    return ds, col or None


def main_datasets(kpi: KPI | str, loaded: list[str],
                  first_dates: Mapping[str, date] | None = None) -> str | None:
    """The KPI's main dataset (its first period starts with this dataset's earliest row).

    It is the first need's dataset; for alternatives ("subscriptions|payments") the loaded one with
    the earliest first date when ``first_dates`` is given, else the first loaded one as written.
    None when none of them is loaded.
    """
    k = kpi if isinstance(kpi, KPI) else get(kpi)
    options = [_split(alt)[0] for alt in k.needs[0].split("|")]
    options = [ds for ds in dict.fromkeys(options) if ds in loaded]
    if not options:
        return None
    if first_dates:
        dated = [ds for ds in options if first_dates.get(ds) is not None]
        if dated:
            return min(dated, key=lambda ds: (first_dates[ds], options.index(ds)))
    return options[0]


@dataclass(frozen=True)
class Step:
    """One thing the user can do to meet a need: add a dataset (with some columns filled) or map a column."""
    action: str                 # "add" | "map"
    datasets: tuple[str, ...]   # more than one: any of them will do
    columns: tuple[str, ...] = ()   # for alternatives, one per dataset ("" for the dataset alone)

    @property
    def instruction(self) -> str:
        if self.action == "map":
            return "map " + " or ".join(f"{ds}.{c}" for ds, c in zip(self.datasets, self.columns))
        if len(self.datasets) > 1:
            return "add " + " or ".join(f"{ds} with {c}" if c else ds
                                        for ds, c in zip(self.datasets, self.columns or [""] * len(self.datasets)))
        with_ = f" with {_and(self.columns)}" if self.columns else ""
        return f"add the {self.datasets[0]} dataset{with_}"


@dataclass(frozen=True)
class Availability:
    kpi: str
    computable: bool
    missing: tuple[str, ...]   # plain instructions: "add the marketing dataset", "map customers.trial_start"
    steps: tuple[Step, ...] = ()   # the same, as data, for unlock_hint and the app


def _and(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _steps(k: KPI, loaded: set[str], has_column) -> tuple[Step, ...]:
    adds: dict[str, list[str]] = {}   # one "add" per missing dataset, holding the columns it must fill
    steps: list[Step | str] = []      # a str stands for the "add" of that dataset, keeping need order
    for need in k.needs:
        alts = [_split(a) for a in need.split("|")]
        if any((ds in loaded) if col is None else has_column(ds, col) for ds, col in alts):
            continue
        if len(alts) > 1:
            action = "map" if all(col and ds in loaded for ds, col in alts) else "add"
            steps.append(Step(action, tuple(ds for ds, _ in alts), tuple(c or "" for _, c in alts)))
            continue
        ds, col = alts[0]
        if ds in loaded:   # loaded but the column is absent or empty
            steps.append(Step("map", (ds,), (col,)))
        else:
            if ds not in adds:
                adds[ds] = []
                steps.append(ds)
            if col:
                adds[ds].append(col)
    return tuple(Step("add", (s,), tuple(adds[s])) if isinstance(s, str) else s for s in steps)


def availability(ws) -> dict[str, Availability]:
    """For every catalog KPI, whether the workspace's data can compute it and, if not, what would."""
    loaded_cache: dict[str, bool] = {}
    column_cache: dict[tuple[str, str], bool] = {}

    def is_loaded(ds: str) -> bool:
        if ds not in loaded_cache:
            loaded_cache[ds] = bool(ws.has(ds))
        return loaded_cache[ds]

    def has_column(ds: str, col: str) -> bool:
        if (ds, col) not in column_cache:
            column_cache[(ds, col)] = is_loaded(ds) and bool(ws.has_column(ds, col))
        return column_cache[(ds, col)]

    needed = {_split(a)[0] for k in CATALOG.values() for n in k.needs for a in n.split("|")}
    loaded = {ds for ds in needed if is_loaded(ds)}
    out = {}
    for k in CATALOG.values():
        steps = _steps(k, loaded, has_column)
        out[k.id] = Availability(k.id, not steps, tuple(s.instruction for s in steps), steps)
    return out


def computable_ids(ws) -> set[str]:
    """The ids of the KPIs the workspace's data can compute."""
    return {k for k, a in availability(ws).items() if a.computable}


def _headline_column(ds: str) -> str | None:
    # The dataset's required amount column says what the file must hold ("marketing with spend").
    for c in DATASETS[ds].columns:
        if c.required and c.type == "number":
            return c.name
    return None


def unlock_hint(av: Availability) -> str:
    """One short sentence on what would make the KPI computable ("Add marketing with spend");
    empty when it already is."""
    parts: list[str] = []
    map_cols: dict[str, list[str]] = {}   # columns to map in one dataset share one phrase
    map_at: dict[str, int] = {}
    for s in av.steps:
        if s.action == "map" and len(s.datasets) == 1:
            ds = s.datasets[0]
            if ds not in map_at:
                map_at[ds], map_cols[ds] = len(parts), []
                parts.append("")
            map_cols[ds] += s.columns
            parts[map_at[ds]] = f"map {_and(map_cols[ds])} in {ds}"
        elif s.action == "map":
            parts.append("map " + " or ".join(f"{c} in {ds}" for ds, c in zip(s.datasets, s.columns)))
        elif len(s.datasets) > 1:
            parts.append(s.instruction)
        else:
            ds = s.datasets[0]
            cols = s.columns or tuple(c for c in [_headline_column(ds)] if c)
            parts.append(f"add {ds}" + (f" with {_and(cols)}" if cols else ""))
    if not parts:
        return ""
    text = _and(parts)
    return text[0].upper() + text[1:]


# -- output for the CLI and the app ------------------------------------------------------------
RECORD_KEYS = ("id", "name", "category", "unit", "direction", "kind", "leading", "input", "qualitative",
               "perspective", "stages", "goals", "description", "formula", "needs")


def catalog_records() -> list[dict]:
    """One plain dict per KPI, in catalog order: the objects of ``python -m kpi catalog --format json``."""
    out = []
    for k in CATALOG.values():
        rec = {key: getattr(k, key) for key in RECORD_KEYS}
        for key in ("stages", "goals", "needs"):
            rec[key] = list(rec[key])
        out.append(rec)
    return out


# -- validation --------------------------------------------------------------------------------
SPEC_KPIS = Path(__file__).resolve().parents[2] / "shared" / "spec" / "kpis.md"


def validate_catalog(spec: str | Path | None = None) -> list[str]:
    """Every problem in the catalog, one sentence each; an empty list means it is consistent.

    ``spec`` is the path of kpis.md; by default the shared spec is used when it is there, and the
    checks against it are skipped when it is not (an installed copy carries no spec).
    """
    problems: list[str] = []
    add = problems.append
    lifecycle_ids = {k for s in STAGES.values() for k in s.primary + s.secondary}
    lifecycle_ids |= {k for g in GOALS.values() for k in g.primary + g.secondary}
    for kpi_id in sorted(lifecycle_ids - set(CATALOG)):
        add(f"lifecycle names {kpi_id!r}, which is not in the catalog")

    for key, k in CATALOG.items():
        where = f"{key}:"
        if key != k.id:
            add(f"{where} registered under another id than its own ({k.id!r})")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", k.id):
            add(f"{where} the id should be lower-case words joined by underscores")
        for field, value, allowed in (("category", k.category, CATEGORIES), ("unit", k.unit, UNITS),
                                      ("direction", k.direction, DIRECTIONS), ("kind", k.kind, KINDS),
                                      ("perspective", k.perspective, PERSPECTIVES),
                                      ("metric_type", k.metric_type, METRIC_TYPES),
                                      ("format", k.format, FORMATS)):
            if value not in allowed:
                add(f"{where} unknown {field} {value!r} (use one of {', '.join(allowed)})")
        for field in ("leading", "input", "qualitative"):
            if not isinstance(getattr(k, field), bool):
                add(f"{where} {field} must be True or False")
        if not k.name.strip():
            add(f"{where} empty name")
        if not k.description.strip():
            add(f"{where} empty description")
        else:
            sentences = len(re.findall(r"[.!?](?:\s|$)", k.description.strip()))
            if not 2 <= sentences <= 4:
                add(f"{where} the description has {sentences} sentence(s); write 2 to 4")
        if not k.formula.strip():
            add(f"{where} empty formula")
        if k.metric_type == "ratio" and not (k.numerator.strip() and k.denominator.strip()):
            add(f"{where} a ratio needs its numerator and denominator in words")
        if k.metric_type != "ratio" and (k.numerator or k.denominator):
            add(f"{where} only a ratio has a numerator and denominator (metric_type is {k.metric_type})")
        if k.unit == "rate" and k.format != "percent":
            add(f"{where} a rate is a fraction and is shown as a percent, not {k.format!r}")
        if not k.needs:
            add(f"{where} needs nothing; name the datasets it reads")
        for need in k.needs:
            for alt in need.split("|"):
                ds, col = _split(alt)
                if ds not in DATASETS:
                    add(f"{where} needs unknown dataset {ds!r}")
                elif col is not None and col not in DATASETS[ds].column_names:
                    add(f"{where} needs unknown column {ds}.{col}")
        for stage in k.stages:
            if stage not in STAGES:
                add(f"{where} unknown lifecycle stage {stage!r}")
        for goal in k.goals:
            if goal not in GOALS:
                add(f"{where} unknown goal {goal!r}")
        if k.stages != stages_naming(k.id) or k.goals != goals_naming(k.id):
            add(f"{where} stages or goals differ from lifecycle.py's lists")

    path = Path(spec) if spec is not None else SPEC_KPIS
    if spec is not None or path.exists():
        try:
            problems += spec_differences(path.read_text(encoding="utf-8"))
        except OSError as exc:
            add(f"cannot read the spec {path}: {exc}")
    return problems


def _spec_needs(cell: str) -> tuple[str, ...]:
    """kpis.md's needs cell as catalog needs: 'customers.trial_start, converted_date' names two
    customers columns; 'subscriptions or payments' is one need with two alternatives."""
    out, current = [], None
    for part in (p.strip() for p in cell.split(",")):
        alts = []
        for alt in (a.strip() for a in part.split(" or ")):
            if "." in alt:
                current = alt.split(".")[0]
            elif alt not in DATASETS and current:
                alt = f"{current}.{alt}"
            alts.append(alt)
        out.append("|".join(alts))
    return tuple(out)


def spec_differences(text: str) -> list[str]:
    """Where the catalog disagrees with kpis.md: its ids and their order, names, units, better-when,
    kind, category and needs in the catalog tables, and the leading/input/perspective tags table."""
    problems: list[str] = []
    rows, category = [], None
    for line in text.splitlines():
        if line.startswith("### "):
            category = line[4:].strip()
        elif line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            rows.append((category, cells))
    spec_ids = [cells[0].strip("`") for _, cells in rows]
    if spec_ids != list(CATALOG):
        missing = [i for i in spec_ids if i not in CATALOG]
        extra = [i for i in CATALOG if i not in spec_ids]
        if missing:
            problems.append(f"the spec's catalog tables name KPIs not in the catalog: {', '.join(missing)}")
        if extra:
            problems.append(f"the catalog holds KPIs the spec does not: {', '.join(extra)}")
        if not missing and not extra:
            problems.append("the catalog's order differs from the spec's")
    for category, cells in rows:
        kpi_id = cells[0].strip("`")
        k = CATALOG.get(kpi_id)
        if k is None or len(cells) < 7:
            continue
        expected = {"name": cells[1], "unit": cells[2], "direction": cells[3], "kind": cells[4],
                    "category": category, "needs": _spec_needs(cells[6])}
        for field, value in expected.items():
            if getattr(k, field) != value:
                problems.append(f"{kpi_id}: {field} is {getattr(k, field)!r}, the spec says {value!r}")

    tagged: dict[str, tuple[bool, bool, str]] = {}
    in_tags = False
    for line in text.splitlines():
        if line.startswith("| id | leading/lagging"):
            in_tags = True
            continue
        if in_tags and not line.startswith("|"):
            break
        if not in_tags or line.startswith("|---"):
            continue
        ids_cell, lead, inout, persp = [c.strip() for c in line.strip().strip("|").split("|")][:4]
        # one row gives two perspectives: "customer (nps), learning and growth (employee_satisfaction)"
        by_id = {i: p for p, i in re.findall(r"([a-z][a-z ]*?) \((\w+)\)", persp)}
        for kpi_id in (i.strip() for i in ids_cell.split(",")):
            tagged[kpi_id] = (lead == "leading", inout == "input", by_id.get(kpi_id, persp))
    if not tagged:
        problems.append("the spec's tags table was not found")
        return problems
    for kpi_id in [i for i in tagged if i not in CATALOG]:
        problems.append(f"the spec's tags table names {kpi_id!r}, which is not in the catalog")
    for kpi_id, k in CATALOG.items():
        if kpi_id not in tagged:
            problems.append(f"{kpi_id}: missing from the spec's tags table")
            continue
        lead, inp, persp = tagged[kpi_id]
        if (k.leading, k.input, k.perspective) != (lead, inp, persp):
            problems.append(f"{kpi_id}: tags are leading={k.leading}, input={k.input}, "
                            f"perspective={k.perspective!r}; the spec says leading={lead}, "
                            f"input={inp}, perspective={persp!r}")
    return problems
