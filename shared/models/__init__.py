"""SQLAlchemy tables; ``Base.metadata`` is the migrations' target."""

from shared.core.db import Base
from shared.models.access_log import AccessLogEntry
from shared.models.aggregates import DailyAggregate, EpisodeContribution
from shared.models.api_keys import ApiKey
from shared.models.audit import AuditEntry
from shared.models.episodes import Episode
from shared.models.events import EventRecord
from shared.models.flags import Flag
from shared.models.messages import InboundMessage
from shared.models.operations import PeriodicJob, Ping
from shared.models.organizations import Organization
from shared.models.people import Enrolment, Passkey, RecoveryCode, SignInFailure, User
from shared.models.rollups import MonthlyCount, MonthlyLead
from shared.models.rule_sets import RuleSetVersion
from shared.models.sheets import SheetRecord
from shared.models.ui_sessions import BrowserSession
from shared.models.webhooks import Webhook, WebhookAttempt, WebhookDelivery

__all__ = [
    "AccessLogEntry",
    "ApiKey",
    "AuditEntry",
    "Base",
    "BrowserSession",
    "DailyAggregate",
    "Enrolment",
    "Episode",
    "EpisodeContribution",
    "EventRecord",
    "Flag",
    "InboundMessage",
    "MonthlyCount",
    "MonthlyLead",
    "Organization",
    "Passkey",
    "PeriodicJob",
    "Ping",
    "RecoveryCode",
    "RuleSetVersion",
    "SheetRecord",
    "SignInFailure",
    "User",
    "Webhook",
    "WebhookAttempt",
    "WebhookDelivery",
]
