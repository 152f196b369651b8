"""The product's lifecycle stages and the PM's goals, with the KPIs each names first and second.

``../shared/spec/lifecycle.md`` written down as data. The catalog reads which stages and goals
name each KPI from here; ``lifecycle.py`` builds the wizard's recommendations and the balance
check on top of it (and of the catalog).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    id: str
    label: str        # how a PM would say where the product is: "growth stage, optimising engagement"
    meaning: str      # what that stage is about, in one clause
    primary: tuple[str, ...]
    secondary: tuple[str, ...]


@dataclass(frozen=True)
class Goal:
    id: str
    label: str        # the goal in a PM's words: "increase user engagement"
    explanation: str  # one sentence on what pursuing it means
    primary: tuple[str, ...]
    secondary: tuple[str, ...]


STAGES: dict[str, Stage] = {s.id: s for s in (
    Stage("early", "early stage, acquiring users",
          "finding product-market fit, first users and customers",
          ("cac", "cpa", "signup_rate"),
          ("dau", "mau", "feature_adoption_rate")),
    Stage("growth", "growth stage, optimising engagement",
          "scaling acquisition and deepening use",
          ("dau", "mau", "avg_session_duration"),
          ("arpu", "customer_churn_rate", "trial_conversion_rate")),
    Stage("mature", "mature stage, focusing on retention",
          "defending the base and its margins",
          ("customer_churn_rate", "clv", "renewal_rate"),
          ("uptime", "support_response_time", "employee_satisfaction")),
)}

GOALS: dict[str, Goal] = {g.id: g for g in (
    Goal("engagement", "increase user engagement",
         "Get people using the product more often and more deeply, so it becomes part of their routine.",
         ("dau", "mau", "feature_adoption_rate", "actions_per_user"),
         ("time_to_market", "velocity")),
    Goal("revenue", "boost revenue",
         "Earn more from each user and keep paying customers paying.",
         ("mrr", "arpu", "customer_churn_rate", "trial_conversion_rate"),
         ("clv", "net_mrr_retention", "support_cost", "cac")),
    Goal("growth", "rapid user growth",
         "Bring in new users and turn them into paying customers quickly.",
         ("signups", "new_customers", "mrr_growth_rate"),
         ("signup_rate", "cac", "trial_conversion_rate")),
    Goal("retention", "keep the customers we have",
         "Hold on to paying customers and their revenue, and keep users coming back.",
         ("customer_churn_rate", "net_mrr_retention", "retention_rate"),
         ("nps", "stickiness", "renewal_rate")),
    Goal("satisfaction", "improve customer satisfaction",
         "Make customers happier: quick answers, fewer escalations and a product that works.",
         ("nps", "support_response_time", "escalation_rate"),
         ("uptime", "defect_density", "retention_rate")),
    Goal("delivery", "ship faster and better",
         "Turn ideas into shipped features quickly and predictably, and see them used.",
         ("time_to_market", "velocity", "feature_adoption_rate"),
         ("say_do_ratio", "testing_speed", "releases_shipped")),
    Goal("quality", "raise product quality",
         "Catch bugs before customers do, keep the product up and pass the checks you must pass.",
         ("defect_density", "test_effectiveness", "uptime"),
         ("testing_speed", "escalation_rate", "compliance_rate")),
)}


def stages_naming(kpi_id: str) -> tuple[str, ...]:
    """The stages whose primary or secondary list names the KPI, in stage order."""
    return tuple(s.id for s in STAGES.values() if kpi_id in s.primary + s.secondary)


def goals_naming(kpi_id: str) -> tuple[str, ...]:
    """The goals whose primary or secondary list names the KPI, in goal order."""
    return tuple(g.id for g in GOALS.values() if kpi_id in g.primary + g.secondary)
