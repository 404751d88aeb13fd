"""Jobs, bids, milestones and reviews: thin handlers over the marketplace services."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body, read_optional_body, read_query
from hub.marketplace.models import (
    CreateBid,
    CreateJob,
    CreateMilestone,
    CreateReview,
    JobListQuery,
    PageQuery,
    ReleaseMilestone,
    ResolveMilestone,
    UpdateBid,
    UpdateJob,
)

from .routing import by_id_action, hub_of, user_id_of


def _id(request: web.Request) -> str:
    return request.match_info["id"]


# Jobs


async def list_jobs(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, JobListQuery)
    return json_response(await hub_of(request).jobs.search(caller, query))


async def create_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateJob)
    return json_response(await hub_of(request).jobs.create(caller, body), status=201)


get_job = by_id_action("jobs", "get", "get_job")


async def update_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, UpdateJob)
    return json_response(await hub_of(request).jobs.update(caller, _id(request), body))


async def delete_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    await hub_of(request).jobs.delete(caller, _id(request))
    return web.Response(status=204)


publish_job = by_id_action("jobs", "publish", "publish_job")
cancel_job = by_id_action("jobs", "cancel", "cancel_job")
complete_job = by_id_action("jobs", "complete", "complete_job")


# Bids


async def create_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateBid)
    return json_response(await hub_of(request).bids.create(caller, _id(request), body), status=201)


async def list_bids(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await hub_of(request).bids.list(caller, _id(request), query.cursor, query.limit)
    )


get_bid = by_id_action("bids", "get", "get_bid")


async def update_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, UpdateBid)
    return json_response(await hub_of(request).bids.update(caller, _id(request), body))


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
        await hub_of(request).milestones.create(caller, _id(request), body), status=201
    )


async def list_milestones(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await hub_of(request).milestones.list(caller, _id(request), query.cursor, query.limit)
    )


get_milestone = by_id_action("milestones", "get", "get_milestone")
request_release = by_id_action("milestones", "request_release", "request_release")


async def release_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_optional_body(request, ReleaseMilestone)
    return json_response(
        await hub_of(request).milestones.release(caller, _id(request), body.amount)
    )


cancel_milestone = by_id_action("milestones", "cancel", "cancel_milestone")
dispute_milestone = by_id_action("milestones", "dispute", "dispute_milestone")


async def resolve_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, ResolveMilestone)
    return json_response(
        await hub_of(request).milestones.resolve(caller, _id(request), body.freelancer_amount)
    )


# Reviews


async def create_review(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateReview)
    return json_response(await hub_of(request).jobs.review(caller, _id(request), body), status=201)


async def list_reviews(request: web.Request) -> web.Response:
    user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await hub_of(request).jobs.reviews(_id(request), query.cursor, query.limit)
    )
