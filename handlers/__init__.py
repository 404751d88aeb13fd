"""Thin REST handlers: parse, call the domain service, shape the response.

``ROUTES`` is the single list of operations: it registers them under
``/api/v1`` and generates the OpenAPI document, so the two never disagree.
"""

from __future__ import annotations

from aiohttp import web

from hub.accounts.models import (
    AuthResult,
    BlockEntry,
    BlockList,
    LoginRequest,
    LogoutRequest,
    PrivateUser,
    ProfileUpdate,
    PublicUser,
    RefreshRequest,
    RegisterRequest,
    RoleUpdate,
    SessionList,
)
from hub.context import HUB
from hub.conversations.models import (
    Conversation,
    ConversationListQuery,
    ConversationPage,
    CreateConversation,
    DeletedMessage,
    HistoryQuery,
    Message,
    MessagePage,
    ReadState,
    RestAddParticipants,
    RestEditMessage,
    RestMarkRead,
    RestSendMessage,
    RestUpdateConversation,
    SearchPage,
    SearchQuery,
    UnreadCounts,
)
from hub.marketplace.models import (
    Bid,
    BidPage,
    CreateBid,
    CreateDeposit,
    CreateJob,
    CreateMilestone,
    CreatePayout,
    CreateReview,
    Deposit,
    Job,
    JobListQuery,
    JobPage,
    LedgerPage,
    Milestone,
    MilestonePage,
    PageQuery,
    Payout,
    ReleaseMilestone,
    ResolveMilestone,
    Review,
    ReviewPage,
    UpdateBid,
    UpdateJob,
    Wallet,
    WebhookAck,
)
from hub.notifications.models import (
    Notification,
    NotificationListQuery,
    NotificationPage,
    ReadAll,
    UnreadNotifications,
)

from . import admin, auth, conversations, health, marketplace, notifications, users, wallet
from .networking import NETWORKING_ROUTES
from .openapi import API_PREFIX, ID_PATTERN, PATH_PARAM, build_openapi, openapi_handler
from .routing import Route, hub_of, serving
from .signaling import SIGNALING_ROUTES
from .web_client import setup_web_routes

JOB_STATES = (
    "States: draft -> open -> awarded -> in_progress -> completed; "
    "draft|open|awarded -> cancelled. "
)
BID_STATES = (
    "States: pending -> shortlisted -> awarded -> accepted (pending -> awarded too); "
    "pending|shortlisted -> rejected|withdrawn; awarded -> declined. "
)
MILESTONE_STATES = (
    "States: funded -> release_requested -> released; funded -> cancelled; "
    "funded|release_requested -> disputed -> resolved. "
)
STATE_409 = "From any other state: 409 invalid_state. "
PARTY_403 = "Anyone else: 403 forbidden."

MARKETPLACE_ROUTES: list[Route] = [
    # Jobs
    Route(
        "GET",
        "/jobs",
        marketplace.list_jobs,
        "Search jobs, newest first",
        "jobs",
        query=JobListQuery,
        response=JobPage,
        description="q matches every word in the title or description; skills is a comma "
        "list the job must all have; budget_min/budget_max keep jobs whose budget range "
        "overlaps them. Drafts are listed only for their owner.",
    ),
    Route(
        "POST",
        "/jobs",
        marketplace.create_job,
        "Post a job (clients)",
        "jobs",
        body=CreateJob,
        response=Job,
        status=201,
        errors=(403,),
        description="Created as draft, or open with publish: true. "
        + JOB_STATES
        + "Only clients post jobs (403).",
    ),
    Route(
        "GET",
        "/jobs/{id}",
        marketplace.get_job,
        "One job",
        "jobs",
        response=Job,
        description="Someone else's draft is 404.",
    ),
    Route(
        "PATCH",
        "/jobs/{id}",
        marketplace.update_job,
        "Edit a job (owner; draft or open)",
        "jobs",
        body=UpdateJob,
        response=Job,
        errors=(403, 409),
        description="Only the fields sent change; the currency only while draft. "
        + STATE_409
        + PARTY_403,
    ),
    Route(
        "DELETE",
        "/jobs/{id}",
        marketplace.delete_job,
        "Delete a draft (owner)",
        "jobs",
        status=204,
        errors=(403, 409),
        description="Only in draft. " + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/jobs/{id}/publish",
        marketplace.publish_job,
        "draft -> open (owner)",
        "jobs",
        response=Job,
        errors=(403, 409),
        description=JOB_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/jobs/{id}/cancel",
        marketplace.cancel_job,
        "draft|open|awarded -> cancelled (owner)",
        "jobs",
        response=Job,
        errors=(403, 409),
        description="Open and awarded bids become rejected; their bidders are notified "
        "(job.cancelled). " + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/jobs/{id}/complete",
        marketplace.complete_job,
        "in_progress -> completed (owner)",
        "jobs",
        response=Job,
        errors=(403, 409),
        description="Needs every milestone released, cancelled or resolved (409 "
        "invalid_state otherwise). Notifies the freelancer (job.completed). " + PARTY_403,
    ),
    # Bids
    Route(
        "POST",
        "/jobs/{id}/bids",
        marketplace.create_bid,
        "Bid on an open job (freelancers)",
        "bids",
        body=CreateBid,
        response=Bid,
        status=201,
        errors=(403, 409),
        description="One active bid per freelancer and job (409 conflict); not on one's own "
        "job (403); the job must be open (409 invalid_state); currency is the job's. "
        "Notifies the owner (bid.created).",
    ),
    Route(
        "GET",
        "/jobs/{id}/bids",
        marketplace.list_bids,
        "Bids of a job, oldest first",
        "bids",
        query=PageQuery,
        response=BidPage,
        description="The owner sees every bid, anyone else only their own.",
    ),
    Route(
        "GET",
        "/bids/{id}",
        marketplace.get_bid,
        "One bid (owner or bidder)",
        "bids",
        response=Bid,
        errors=(403,),
    ),
    Route(
        "PATCH",
        "/bids/{id}",
        marketplace.update_bid,
        "Change a pending bid (bidder)",
        "bids",
        body=UpdateBid,
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/withdraw",
        marketplace.withdraw_bid,
        "pending|shortlisted -> withdrawn (bidder)",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/shortlist",
        marketplace.shortlist_bid,
        "pending -> shortlisted (owner; job open)",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/reject",
        marketplace.reject_bid,
        "pending|shortlisted -> rejected (owner)",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/award",
        marketplace.award_bid,
        "pending|shortlisted -> awarded (owner); job open -> awarded",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/accept",
        marketplace.accept_bid,
        "awarded -> accepted (bidder); job -> in_progress",
        "bids",
        response=Bid,
        errors=(403, 409),
        description="Rejects the job's other open bids and opens the bid's conversation "
        "(context {type: bid, id}). " + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/decline",
        marketplace.decline_bid,
        "awarded -> declined (bidder); job back to open",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "GET",
        "/bids/{id}/conversation",
        marketplace.bid_conversation,
        "The accepted bid's conversation",
        "bids",
        response=Conversation,
        errors=(403, 409),
        description="409 invalid_state until the bid is accepted.",
    ),
    # Milestones
    Route(
        "POST",
        "/jobs/{id}/milestones",
        marketplace.create_milestone,
        "Fund a milestone (owner; job in_progress)",
        "milestones",
        body=CreateMilestone,
        response=Milestone,
        status=201,
        errors=(402, 403, 409),
        description="Moves amount from the owner's available to held: 402 "
        "insufficient_funds when available is short. " + MILESTONE_STATES,
    ),
    Route(
        "GET",
        "/jobs/{id}/milestones",
        marketplace.list_milestones,
        "Milestones of a job, oldest first",
        "milestones",
        query=PageQuery,
        response=MilestonePage,
        errors=(403,),
    ),
    Route(
        "GET",
        "/milestones/{id}",
        marketplace.get_milestone,
        "One milestone",
        "milestones",
        response=Milestone,
        errors=(403,),
    ),
    Route(
        "POST",
        "/milestones/{id}/request-release",
        marketplace.request_release,
        "funded -> release_requested (freelancer)",
        "milestones",
        response=Milestone,
        errors=(403, 409),
        description=MILESTONE_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/milestones/{id}/release",
        marketplace.release_milestone,
        "Release held money to the freelancer (owner; release_requested)",
        "milestones",
        body=ReleaseMilestone,
        body_optional=True,
        response=Milestone,
        errors=(402, 403, 409),
        description="Releases amount (default: all still held); the freelancer gets it less "
        "the platform fee (fee_bps of it rounded half up, at least HUB_MIN_FEE). The "
        "milestone is released once nothing is held. Concurrent partial releases are "
        "serialized: more than is still held is 402 insufficient_funds. "
        + MILESTONE_STATES
        + STATE_409
        + PARTY_403,
    ),
    Route(
        "POST",
        "/milestones/{id}/cancel",
        marketplace.cancel_milestone,
        "funded -> cancelled (owner): held back to available",
        "milestones",
        response=Milestone,
        errors=(403, 409),
        description=MILESTONE_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/milestones/{id}/dispute",
        marketplace.dispute_milestone,
        "funded|release_requested -> disputed (either side)",
        "milestones",
        response=Milestone,
        errors=(403, 409),
        description=MILESTONE_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/admin/milestones/{id}/resolve",
        marketplace.resolve_milestone,
        "disputed -> resolved: split what is held (admin)",
        "admin",
        body=ResolveMilestone,
        response=Milestone,
        errors=(403, 409),
        description="freelancer_amount (0..held) goes to the freelancer less the platform "
        "fee; the rest back to the owner. " + STATE_409 + "Non-admins: 403.",
    ),
    # Reviews
    Route(
        "POST",
        "/jobs/{id}/reviews",
        marketplace.create_review,
        "Review the other side of a completed job",
        "reviews",
        body=CreateReview,
        response=Review,
        status=201,
        errors=(403, 409),
        description="Once per side (409 conflict); only when the job is completed (409 "
        "invalid_state); only the owner and the freelancer (403).",
    ),
    Route(
        "GET",
        "/users/{id}/reviews",
        marketplace.list_reviews,
        "Reviews of a user, with average and count",
        "reviews",
        query=PageQuery,
        response=ReviewPage,
    ),
    # Wallet
    Route(
        "GET",
        "/wallet",
        wallet.get_wallet,
        "The caller's balances per currency",
        "wallet",
        response=Wallet,
    ),
    Route(
        "GET",
        "/wallet/ledger",
        wallet.get_ledger,
        "The caller's ledger entries, newest first",
        "wallet",
        query=PageQuery,
        response=LedgerPage,
        description="amount is signed (positive credits the caller); per currency the "
        "entries sum to available + held.",
    ),
    Route(
        "POST",
        "/wallet/deposits",
        wallet.create_deposit,
        "Deposit with a payment method",
        "wallet",
        body=CreateDeposit,
        response=Deposit,
        status=202,
        errors=(503,),
        description="pending until the provider's webhook: succeeded credits available, "
        "failed credits nothing. Sandbox: pm_card_ok succeeds, pm_card_declined fails.",
    ),
    Route(
        "GET",
        "/wallet/deposits/{id}",
        wallet.get_deposit,
        "One of the caller's deposits",
        "wallet",
        response=Deposit,
        errors=(403,),
    ),
    Route(
        "POST",
        "/wallet/payouts",
        wallet.create_payout,
        "Pay out from available",
        "wallet",
        body=CreatePayout,
        response=Payout,
        status=202,
        errors=(402, 503),
        description="Takes amount out of available now (402 insufficient_funds when short); "
        "pending -> paid|failed by webhook, and a failed payout returns the money. Sandbox "
        "destinations: ba_ok (default) is paid, ba_fail fails.",
    ),
    Route(
        "GET",
        "/wallet/payouts/{id}",
        wallet.get_payout,
        "One of the caller's payouts",
        "wallet",
        response=Payout,
        errors=(403,),
    ),
    Route(
        "POST",
        "/payments/webhook",
        wallet.payments_webhook,
        "Payment provider events (signed)",
        "wallet",
        auth=False,
        response=WebhookAck,
        description="Header X-Hub-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "
        '"<t>.<raw body>")>; 400 when wrong or more than 5 minutes off. Body: {id, type: '
        "deposit.succeeded|deposit.failed|payout.paid|payout.failed, created, data: {id, "
        "amount, currency, provider_ref, failure_reason}}. Idempotent by event id: a replay "
        "answers 200 with duplicate: true and changes nothing.",
    ),
    # Notifications
    Route(
        "GET",
        "/notifications",
        notifications.list_notifications,
        "The caller's notifications, newest first",
        "notifications",
        query=NotificationListQuery,
        response=NotificationPage,
    ),
    Route(
        "POST",
        "/notifications/read-all",
        notifications.read_all_notifications,
        "Mark every notification read",
        "notifications",
        response=ReadAll,
    ),
    Route(
        "GET",
        "/notifications/unread-count",
        notifications.unread_notifications,
        "How many notifications are unread",
        "notifications",
        response=UnreadNotifications,
    ),
    Route(
        "POST",
        "/notifications/{id}/read",
        notifications.read_notification,
        "Mark one notification read",
        "notifications",
        response=Notification,
        errors=(403,),
    ),
]

ROUTES: list[Route] = [
    Route("GET", "/healthz", health.healthz, "Liveness", "health", auth=False),
    Route(
        "GET",
        "/readyz",
        health.readyz,
        "Readiness: storage (and Redis) answer",
        "health",
        auth=False,
        errors=(503,),
    ),
    Route(
        "POST",
        "/auth/register",
        auth.register,
        "Create an account",
        "auth",
        auth=False,
        body=RegisterRequest,
        response=AuthResult,
        status=201,
        errors=(409,),
    ),
    Route(
        "POST",
        "/auth/login",
        auth.login,
        "Log in",
        "auth",
        auth=False,
        body=LoginRequest,
        response=AuthResult,
        errors=(401,),
    ),
    Route(
        "POST",
        "/auth/refresh",
        auth.refresh,
        "Rotate a refresh token",
        "auth",
        auth=False,
        body=RefreshRequest,
        response=AuthResult,
        errors=(401,),
    ),
    Route(
        "POST",
        "/auth/logout",
        auth.logout,
        "End the session of a refresh token",
        "auth",
        auth=False,
        body=LogoutRequest,
        status=204,
        description="Revokes the refresh token's family, which is its session: the "
        "session's access tokens answer 401 and its sockets get auth:revoked and are "
        "disconnected. An unknown refresh token is 204 too.",
    ),
    Route("GET", "/auth/me", auth.me, "The caller's own account", "auth", response=PrivateUser),
    Route(
        "GET",
        "/auth/sessions",
        auth.list_sessions,
        "The caller's active sessions, newest first",
        "auth",
        response=SessionList,
        description="One session per login (or registration); current marks the session "
        "of the token that asks.",
    ),
    Route(
        "DELETE",
        "/auth/sessions/{id}",
        auth.revoke_session,
        "Revoke one of the caller's sessions",
        "auth",
        status=204,
        description="Its refresh and access tokens stop working (401) and its sockets get "
        "auth:revoked and are disconnected, on every process. Someone else's session, or "
        "one already revoked, is 404.",
    ),
    Route(
        "POST",
        "/auth/logout-all",
        auth.logout_all,
        "Revoke every session of the caller, this one too",
        "auth",
        status=204,
    ),
    Route(
        "GET",
        "/users/me",
        users.get_me,
        "The caller's own profile (as GET /auth/me)",
        "users",
        response=PrivateUser,
    ),
    Route(
        "PATCH",
        "/users/me",
        users.update_me,
        "Update the caller's profile",
        "users",
        body=ProfileUpdate,
        response=PrivateUser,
    ),
    Route(
        "GET",
        "/users/me/blocks",
        users.list_blocks,
        "Users the caller blocked",
        "users",
        response=BlockList,
    ),
    Route("GET", "/users/{id}", users.get_user, "A public profile", "users", response=PublicUser),
    Route("POST", "/users/{id}/block", users.block, "Block a user", "users", response=BlockEntry),
    Route("DELETE", "/users/{id}/block", users.unblock, "Unblock a user", "users", status=204),
    Route(
        "PATCH",
        "/admin/users/{id}",
        admin.set_role,
        "Change a user's role (admin)",
        "admin",
        body=RoleUpdate,
        response=PrivateUser,
        errors=(403,),
    ),
    Route(
        "GET",
        "/conversations",
        conversations.list_conversations,
        "The caller's conversations, latest activity first",
        "conversations",
        query=ConversationListQuery,
        response=ConversationPage,
    ),
    Route(
        "POST",
        "/conversations",
        conversations.create_conversation,
        "Create a conversation (a direct one is returned if it exists)",
        "conversations",
        body=CreateConversation,
        response=Conversation,
        status=201,
        errors=(403,),
    ),
    Route(
        "GET",
        "/conversations/{id}",
        conversations.get_conversation,
        "One conversation",
        "conversations",
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "PATCH",
        "/conversations/{id}",
        conversations.update_conversation,
        "Change the title or the caller's pinned/archived/muted",
        "conversations",
        body=RestUpdateConversation,
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "POST",
        "/conversations/{id}/participants",
        conversations.add_participants,
        "Add participants (group)",
        "conversations",
        body=RestAddParticipants,
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "DELETE",
        "/conversations/{id}/participants/{user_id}",
        conversations.remove_participant,
        "Remove a participant (self or creator; group)",
        "conversations",
        response=Conversation,
        errors=(403,),
    ),
    Route(
        "GET",
        "/conversations/{id}/messages",
        conversations.list_messages,
        "Message history, ascending seq",
        "messages",
        query=HistoryQuery,
        response=MessagePage,
        errors=(403,),
    ),
    Route(
        "POST",
        "/conversations/{id}/messages",
        conversations.send_message,
        "Send a message",
        "messages",
        body=RestSendMessage,
        response=Message,
        status=201,
        errors=(403, 409),
    ),
    Route(
        "POST",
        "/conversations/{id}/read",
        conversations.mark_read,
        "Move the caller's read marker forward",
        "messages",
        body=RestMarkRead,
        response=ReadState,
        errors=(403,),
    ),
    Route(
        "GET",
        "/messages/unread-count",
        conversations.unread_count,
        "Unread messages per conversation and in total",
        "messages",
        response=UnreadCounts,
    ),
    Route(
        "GET",
        "/messages/search",
        conversations.search_messages,
        "Full-text search in the caller's conversations",
        "messages",
        query=SearchQuery,
        response=SearchPage,
        errors=(403,),
    ),
    Route(
        "PATCH",
        "/messages/{id}",
        conversations.edit_message,
        "Edit a message (sender, within the edit window)",
        "messages",
        body=RestEditMessage,
        response=Message,
        errors=(403, 409),
    ),
    Route(
        "DELETE",
        "/messages/{id}",
        conversations.delete_message,
        "Soft-delete a message (sender)",
        "messages",
        response=DeletedMessage,
        errors=(403, 409),
    ),
    *MARKETPLACE_ROUTES,
    *SIGNALING_ROUTES,
    *NETWORKING_ROUTES,
]

UNVERSIONED = ("/healthz", "/readyz")

PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


async def prometheus_metrics(request: web.Request) -> web.Response:
    """Prometheus exposition of this process's metrics (scraped, not part of the API)."""
    return web.Response(
        body=hub_of(request).metrics.render(), headers={"Content-Type": PROMETHEUS_TEXT}
    )


def setup_routes(app: web.Application) -> None:
    """Register ROUTES under /api/v1 (each path parameter matching ID_PATTERN
    only), the probes outside it too, the OpenAPI document, /metrics and the page."""
    for route in ROUTES:
        path = PATH_PARAM.sub(rf"{{\1:{ID_PATTERN}}}", route.path)
        handler = serving(route)
        app.router.add_route(route.method, API_PREFIX + path, handler)
        if route.path in UNVERSIONED:
            app.router.add_route(route.method, route.path, handler)
    document = build_openapi(ROUTES, version="0.1.0", settings=app[HUB].settings)
    app.router.add_get(API_PREFIX + "/openapi.json", openapi_handler(document))
    # Not in ROUTES: it is unversioned only, plain text, and for scrapers, not
    # API clients, so it stays out of the OpenAPI document.
    app.router.add_get("/metrics", prometheus_metrics)
    # The browser client (handlers/web/): a page and its files, not API routes either.
    setup_web_routes(app)
