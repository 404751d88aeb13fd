"""Accounts: users, authentication, sessions, blocks and roles."""

from .mfa import TwoFactor, TwoFactorPolicy
from .service import AccountService
from .sessions import ClientInfo, SessionService

__all__ = ["AccountService", "ClientInfo", "SessionService", "TwoFactor", "TwoFactorPolicy"]
