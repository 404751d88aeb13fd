"""Reaching users who are offline (issue 18): who has a /conversations socket
open anywhere (``reach.py``), and the channels that act for those who do not."""

from .reach import Reachability

__all__ = ["Reachability"]
