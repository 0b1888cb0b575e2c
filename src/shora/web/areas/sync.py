"""Sync: the peers seen and when, each council's relays, a sync round now, and
bundles: export as a download, import with a progress bar (htmx polls a job)."""

from __future__ import annotations

import asyncio
import io
import secrets

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from shora.errors import BundleDamaged, InvalidInput, NotFound
from shora.i18n import _
from shora.kernel import bundle
from shora.kernel.ingest import Report
from shora.node import Node
from shora.sync.peers import PeerBook
from shora.sync.runner import sync_round
from shora.web.forms import council_of, form_of, hex_id, text
from shora.web.responses import keeper_of, node_of, pages_of, redirect
from shora.web.state import Job, Keeper

MAX_BUNDLE = 64 * 2**20  # the guard's limit on a request body
BATCH = 500  # envelopes ingested between two looks at the event loop
SYNC_NOW_TIMEOUT = 20.0
MAX_JOBS = 8


async def overview(request: Request) -> Response:
    node = node_of(request)
    book = PeerBook(node.store)
    names = {c.id: c.name for c in node.councils.all()}
    context = {
        "peers": book.peers(),
        "relays": [(c, names.get(c, ""), url) for c, url in book.relays()],
        "councils": node.councils.all(),
        "proxy": book.proxy(),
        "outcomes": None,
    }
    return pages_of(request).render(request, "sync/overview.html", context)


async def add_relay(request: Request) -> Response:
    node = node_of(request)
    form = await form_of(request)
    council = node.councils.get(hex_id(text(form, "council", 64)))
    PeerBook(node.store).add_relay(council.id, text(form, "url", 500))
    return redirect(request, "/sync")


async def remove_relay(request: Request) -> Response:
    node = node_of(request)
    form = await form_of(request)
    council = node.councils.get(hex_id(text(form, "council", 64)))
    PeerBook(node.store).remove_relay(council.id, text(form, "url", 500))
    return redirect(request, "/sync")


async def sync_now(request: Request) -> Response:
    node = node_of(request)
    outcomes = await sync_round(node, timeout=SYNC_NOW_TIMEOUT)
    htmx = request.headers.get("HX-Request") == "true"
    template = "sync/_outcomes.html" if htmx else "sync/outcomes.html"
    return pages_of(request).render(request, template, {"outcomes": outcomes})


async def export(request: Request) -> Response:
    node = node_of(request)
    info = council_of(request, node)
    out = io.BytesIO()
    node.export_bundle(out, info.id)
    name = f"shora-{info.id.hex()[:12]}.bundle"
    return Response(
        out.getvalue(),
        media_type="application/octet-stream",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def import_bundle(request: Request) -> Response:
    keeper = keeper_of(request)
    node = node_of(request)
    form = await form_of(request)
    upload = form.get("bundle")
    if not isinstance(upload, UploadFile):
        raise InvalidInput(_("Choose a bundle file to import."))
    data = await upload.read(MAX_BUNDLE + 1)
    await form.close()
    if len(data) > MAX_BUNDLE:
        raise InvalidInput(_("The bundle is too large to upload here; use shora bundle import."))
    for old in [j for j in keeper.jobs.values() if j.finished][
        : max(0, len(keeper.jobs) - MAX_JOBS)
    ]:
        del keeper.jobs[old.id]
    job = Job(secrets.token_urlsafe(12), total=max(1, len(data)))
    keeper.jobs[job.id] = job
    job.task = asyncio.create_task(_import(keeper, node, job, data))
    return redirect(request, f"/sync/jobs/{job.id}")


async def _import(keeper: Keeper, node: Node, job: Job, data: bytes) -> None:
    source = io.BytesIO(data)
    total = Report()
    batch: list[bytes] = []

    def ingest() -> None:
        report = node.import_envelopes(batch, heal=False)
        job.accepted += report.accepted
        job.duplicate += report.duplicate
        job.refused += sum(report.refused.values())
        total.councils |= report.councils
        batch.clear()

    try:
        for raw in bundle.read_bundle(source):
            batch.append(raw)
            if len(batch) >= BATCH:
                ingest()
                job.done = source.tell()
                await asyncio.sleep(0)
        ingest()
    except BundleDamaged as exc:
        ingest()
        job.error = str(exc)
    if keeper.node is node:
        node.settle(total)
    job.done, job.finished = job.total, True


def _job(request: Request) -> Job:
    job = keeper_of(request).jobs.get(str(request.path_params["job"]))
    if job is None:
        raise NotFound(_("No such page."))
    return job


async def job_page(request: Request) -> Response:
    node_of(request)
    return pages_of(request).render(request, "sync/job.html", {"job": _job(request)})


async def job_progress(request: Request) -> Response:
    node_of(request)
    return pages_of(request).render(request, "sync/_progress.html", {"job": _job(request)})


routes: list[BaseRoute] = [
    Route("/sync", overview),
    Route("/sync/relays", add_relay, methods=["POST"]),
    Route("/sync/relays/remove", remove_relay, methods=["POST"]),
    Route("/sync/now", sync_now, methods=["POST"]),
    Route("/sync/import", import_bundle, methods=["POST"]),
    Route("/sync/jobs/{job}", job_page),
    Route("/sync/jobs/{job}/progress", job_progress),
    Route("/councils/{council}/bundle", export),
]
