"""Jobs, bids, milestones and reviews: thin handlers over the marketplace services."""

from __future__ import annotations

from aiohttp import web

from hub.http import json_response, read_body, read_optional_body, read_query
from hub.marketplace.models import (
    CreateBid, CreateJob, CreateMilestone, CreateReview, JobListQuery, PageQuery,
    ReleaseMilestone, ResolveMilestone, UpdateBid, UpdateJob,
)

from .routing import hub_of, idempotent_create, user_id_of


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


async def get_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).jobs.get(caller, _id(request)))


async def update_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, UpdateJob)
    return json_response(await hub_of(request).jobs.update(caller, _id(request), body))


async def delete_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    await hub_of(request).jobs.delete(caller, _id(request))
    return web.Response(status=204)


async def publish_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).jobs.publish(caller, _id(request)))


async def cancel_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).jobs.cancel(caller, _id(request)))


async def complete_job(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).jobs.complete(caller, _id(request)))


# Bids


async def create_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateBid)
    return await idempotent_create(
        request, caller, "bid:create", body, 201,
        lambda: hub_of(request).bids.create(caller, _id(request), body))


async def list_bids(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await hub_of(request).bids.list(caller, _id(request), query.cursor, query.limit))


async def get_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).bids.get(caller, _id(request)))


async def update_bid(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, UpdateBid)
    return json_response(await hub_of(request).bids.update(caller, _id(request), body))


def _bid_action(name: str):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.Response:
        caller = user_id_of(request)
        action = getattr(hub_of(request).bids, name)
        return json_response(await action(caller, _id(request)))

    handler.__name__ = f"{name}_bid"
    return handler


withdraw_bid = _bid_action("withdraw")
shortlist_bid = _bid_action("shortlist")
reject_bid = _bid_action("reject")
award_bid = _bid_action("award")
accept_bid = _bid_action("accept")
decline_bid = _bid_action("decline")


async def bid_conversation(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).bids.conversation(caller, _id(request)))


# Milestones


async def create_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateMilestone)
    return await idempotent_create(
        request, caller, "milestone:create", body, 201,
        lambda: hub_of(request).milestones.create(caller, _id(request), body))


async def list_milestones(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await hub_of(request).milestones.list(caller, _id(request), query.cursor, query.limit))


async def get_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).milestones.get(caller, _id(request)))


async def request_release(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).milestones.request_release(caller, _id(request)))


async def release_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_optional_body(request, ReleaseMilestone)
    return json_response(
        await hub_of(request).milestones.release(caller, _id(request), body.amount))


async def cancel_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).milestones.cancel(caller, _id(request)))


async def dispute_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    return json_response(await hub_of(request).milestones.dispute(caller, _id(request)))


async def resolve_milestone(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, ResolveMilestone)
    return json_response(await hub_of(request).milestones.resolve(
        caller, _id(request), body.freelancer_amount))


# Reviews


async def create_review(request: web.Request) -> web.Response:
    caller = user_id_of(request)
    body = await read_body(request, CreateReview)
    return json_response(await hub_of(request).jobs.review(caller, _id(request), body), status=201)


async def list_reviews(request: web.Request) -> web.Response:
    user_id_of(request)
    query = read_query(request, PageQuery)
    return json_response(
        await hub_of(request).jobs.reviews(_id(request), query.cursor, query.limit))
