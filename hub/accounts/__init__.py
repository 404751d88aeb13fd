"""Accounts: users, authentication, sessions, blocks and roles."""

from .mail_links import AccountMails, MailLinkPolicy
from .mfa import TwoFactor, TwoFactorPolicy
from .service import AccountService
from .sessions import ClientInfo, SessionService
from .verification import VerifiedEmailRule

__all__ = [
    "AccountMails",
    "AccountService",
    "ClientInfo",
    "MailLinkPolicy",
    "SessionService",
    "TwoFactor",
    "TwoFactorPolicy",
    "VerifiedEmailRule",
]
