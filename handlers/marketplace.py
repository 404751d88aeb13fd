"""Jobs, bids, milestones and reviews: thin handlers over the marketplace services."""

from __future__ import annotations

from aiohttp import web

from hub.conversations.views import Conversation
from hub.http import json_response, read_body, read_optional_body, read_query
from hub.marketplace.models import (
    Bid,
    BidPage,
    CreateBid,
    CreateJob,
    CreateMilestone,
    CreateReview,
    DisputeMilestone,
    Job,
    JobListQuery,
    JobPage,
    Milestone,
    MilestonePage,
    PageQuery,
    ReleaseMilestone,
    ResolveMilestone,
    Review,
    ReviewPage,
    UpdateBid,
    UpdateJob,
    WriteDisputeNote,
)

from .routing import Route, by_id_action, services_of, user_id_of


def _id(request: web.Request) -> str:
    return request.match_info["id"]


# Jobs


async def list_jobs(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, JobListQuery)
    return json_response(await services_of(request).jobs.search(caller, query))


async def create_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateJob)
    return json_response(await services_of(request).jobs.create(caller, body), status=201)


get_job = by_id_action("jobs", "get", "get_job")


async def update_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, UpdateJob)
    return json_response(await services_of(request).jobs.update(caller, _id(request), body))


async def delete_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    await services_of(request).jobs.delete(caller, _id(request))
    return web.Response(status=204)


publish_job = by_id_action("jobs", "publish", "publish_job")
cancel_job = by_id_action("jobs", "cancel", "cancel_job")
complete_job = by_id_action("jobs", "complete", "complete_job")


# Bids


async def create_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateBid)
    return json_response(
        await services_of(request).bids.create(caller, _id(request), body), status=201
    )


async def list_bids(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await services_of(request).bids.list(caller, _id(request), query.cursor, query.limit)
    )


get_bid = by_id_action("bids", "get", "get_bid")


async def update_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, UpdateBid)
    return json_response(await services_of(request).bids.update(caller, _id(request), body))


withdraw_bid = by_id_action("bids", "withdraw", "withdraw_bid")
shortlist_bid = by_id_action("bids", "shortlist", "shortlist_bid")
reject_bid = by_id_action("bids", "reject", "reject_bid")
award_bid = by_id_action("bids", "award", "award_bid")
accept_bid = by_id_action("bids", "accept", "accept_bid")
decline_bid = by_id_action("bids", "decline", "decline_bid")
bid_conversation = by_id_action("bids", "conversation", "bid_conversation")


# Milestones


async def create_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateMilestone)
    return json_response(
        await services_of(request).milestones.create(caller, _id(request), body), status=201
    )


async def list_milestones(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await services_of(request).milestones.list(caller, _id(request), query.cursor, query.limit)
    )


get_milestone = by_id_action("milestones", "get", "get_milestone")
request_release = by_id_action("milestones", "request_release", "request_release")


async def release_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_optional_body(request, ReleaseMilestone)
    return json_response(
        await services_of(request).milestones.release(caller, _id(request), body.amount)
    )


cancel_milestone = by_id_action("milestones", "cancel", "cancel_milestone")


async def dispute_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_optional_body(request, DisputeMilestone)
    return json_response(
        await services_of(request).milestones.dispute(caller, _id(request), body.note)
    )


async def write_dispute_note(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, WriteDisputeNote)
    return json_response(
        await services_of(request).milestones.write_note(caller, _id(request), body.note)
    )


async def resolve_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, ResolveMilestone)
    return json_response(
        await services_of(request).milestones.resolve(caller, _id(request), body.freelancer_amount)
    )


# Reviews


async def create_review(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateReview)
    return json_response(
        await services_of(request).jobs.review(caller, _id(request), body), status=201
    )


async def list_reviews(request: web.Request) -> web.Response:
    user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await services_of(request).jobs.reviews(_id(request), query.cursor, query.limit)
    )


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

ROUTES: list[Route] = [
    Route(
        "GET",
        "/jobs",
        list_jobs,
        "Search jobs, newest first",
        "jobs",
        query=JobListQuery,
        response=JobPage,
        errors=(403,),
        description="q matches every word in the title or description; skills is a comma "
        "list the job must all have; budget_min/budget_max keep jobs whose budget range "
        "overlaps them; bidder_id (the caller's own id only, 403 otherwise) keeps the jobs "
        "the caller has a bid on, in any bid status. Drafts are listed only for their owner.",
    ),
    Route(
        "POST",
        "/jobs",
        create_job,
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
        get_job,
        "One job",
        "jobs",
        response=Job,
        description="Someone else's draft is 404.",
    ),
    Route(
        "PATCH",
        "/jobs/{id}",
        update_job,
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
        delete_job,
        "Delete a draft (owner)",
        "jobs",
        status=204,
        errors=(403, 409),
        description="Only in draft. " + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/jobs/{id}/publish",
        publish_job,
        "draft -> open (owner)",
        "jobs",
        response=Job,
        errors=(403, 409),
        description=JOB_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/jobs/{id}/cancel",
        cancel_job,
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
        complete_job,
        "in_progress -> completed (owner)",
        "jobs",
        response=Job,
        errors=(403, 409),
        description="Needs every milestone released, cancelled or resolved (409 "
        "invalid_state otherwise). Notifies the freelancer (job.completed). " + PARTY_403,
    ),
    Route(
        "POST",
        "/jobs/{id}/bids",
        create_bid,
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
        list_bids,
        "Bids of a job, oldest first",
        "bids",
        query=PageQuery,
        response=BidPage,
        description="The owner sees every bid, anyone else only their own.",
    ),
    Route(
        "GET",
        "/bids/{id}",
        get_bid,
        "One bid (owner or bidder)",
        "bids",
        response=Bid,
        errors=(403,),
    ),
    Route(
        "PATCH",
        "/bids/{id}",
        update_bid,
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
        withdraw_bid,
        "pending|shortlisted -> withdrawn (bidder)",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/shortlist",
        shortlist_bid,
        "pending -> shortlisted (owner; job open)",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/reject",
        reject_bid,
        "pending|shortlisted -> rejected (owner)",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/award",
        award_bid,
        "pending|shortlisted -> awarded (owner); job open -> awarded",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/bids/{id}/accept",
        accept_bid,
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
        decline_bid,
        "awarded -> declined (bidder); job back to open",
        "bids",
        response=Bid,
        errors=(403, 409),
        description=BID_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "GET",
        "/bids/{id}/conversation",
        bid_conversation,
        "The accepted bid's conversation",
        "bids",
        response=Conversation,
        errors=(403, 409),
        description="409 invalid_state until the bid is accepted.",
    ),
    Route(
        "POST",
        "/jobs/{id}/milestones",
        create_milestone,
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
        list_milestones,
        "Milestones of a job, oldest first",
        "milestones",
        query=PageQuery,
        response=MilestonePage,
        errors=(403,),
    ),
    Route(
        "GET",
        "/milestones/{id}",
        get_milestone,
        "One milestone",
        "milestones",
        response=Milestone,
        errors=(403,),
    ),
    Route(
        "POST",
        "/milestones/{id}/request-release",
        request_release,
        "funded -> release_requested (freelancer)",
        "milestones",
        response=Milestone,
        errors=(403, 409),
        description=MILESTONE_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/milestones/{id}/release",
        release_milestone,
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
        cancel_milestone,
        "funded -> cancelled (owner): held back to available",
        "milestones",
        response=Milestone,
        errors=(403, 409),
        description=MILESTONE_STATES + STATE_409 + PARTY_403,
    ),
    Route(
        "POST",
        "/milestones/{id}/dispute",
        dispute_milestone,
        "funded|release_requested -> disputed (either side)",
        "milestones",
        body=DisputeMilestone,
        body_optional=True,
        response=Milestone,
        errors=(403, 409),
        description="No body or {} disputes without a note; note (trimmed, 1..2000 "
        "characters) is the disputing side's dispute note (owner_note or freelancer_note). "
        + MILESTONE_STATES
        + STATE_409
        + PARTY_403,
    ),
    Route(
        "PUT",
        "/milestones/{id}/dispute/note",
        write_dispute_note,
        "Write your side's dispute note (owner or freelancer; disputed)",
        "milestones",
        body=WriteDisputeNote,
        response=Milestone,
        errors=(403, 409),
        description="One note per side: it replaces the caller's side's earlier note "
        "(owner_note or freelancer_note, with updated_at); the other side gets a "
        "milestone.dispute_note notification. 409 invalid_state unless the milestone is "
        "disputed; 403 for anyone but its owner and its freelancer.",
    ),
    Route(
        "POST",
        "/admin/milestones/{id}/resolve",
        resolve_milestone,
        "disputed -> resolved: split what is held (admin)",
        "admin",
        role="admin",
        body=ResolveMilestone,
        response=Milestone,
        errors=(403, 409),
        description="freelancer_amount (0..held) goes to the freelancer less the platform "
        "fee; the rest back to the owner. " + STATE_409 + "Non-admins: 403.",
    ),
    Route(
        "POST",
        "/jobs/{id}/reviews",
        create_review,
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
        list_reviews,
        "Reviews of a user, with average and count",
        "reviews",
        query=PageQuery,
        response=ReviewPage,
    ),
]
