"""The marketplace: jobs, bids, milestone escrow, the wallet and reviews."""

from .bids import BidService
from .common import Market, MarketRules
from .jobs import JobService
from .milestones import MilestoneService
from .wallet import WalletService

__all__ = ["BidService", "JobService", "Market", "MarketRules", "MilestoneService", "WalletService"]
