"""API routes: uploads, training runs (control, event stream, export) and saved experiments.

Ownership: a run belongs to the browser session that made it (or to the user, for API-token
requests); an experiment belongs to a user. Anything that is not the caller's — and not shared, for
reading — answers 404, exactly as if it did not exist.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import config as cfg
from .config import ConfigError, ExperimentConfig, parse_config
from .datasets import MAX_UPLOAD_BYTES, CsvError, CsvSyntaxError, Upload, make_data, parse_csv
from .export import generate_code
from .training import PoolFull, RunBusy, RunInfo
from .web import Ctx, HTTPError, client_address, context, json_body, parse_model, unprocessable

__all__ = ["routes"]

ACTIONS = ("play", "pause", "step", "reset")


class NewRun(BaseModel):
    model_config = ConfigDict(extra="forbid")
    config: dict = Field(default_factory=dict)


class SaveExperiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    run_id: str | None = Field(default=None, max_length=64)
    config: dict | None = None
    shared: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> SaveExperiment:
        if (self.run_id is None) == (self.config is None):
            raise ValueError("give either run_id (save a run with its weights and metrics) or config")
        if not self.name.strip():
            raise ValueError("name must not be blank")
        return self


class EditExperiment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=100)
    shared: bool | None = None


# ------------------------------------------------------------------------------------ options


async def options(request: Request) -> Response:
    """The choices and limits the page offers (the validator enforces the same)."""
    fields = ExperimentConfig.model_fields
    return JSONResponse({
        "problems": cfg.PROBLEMS, "classification_sets": cfg.CLASSIFICATION_SETS,
        "multiclass_sets": cfg.MULTICLASS_SETS, "regression_sets": cfg.REGRESSION_SETS,
        "features": cfg.FEATURES, "activations": cfg.ACTIVATIONS, "optimizers": cfg.OPTIMIZERS,
        "regularizations": cfg.REGULARIZATIONS, "max_layers": cfg.MAX_LAYERS, "max_neurons": cfg.MAX_NEURONS,
        "defaults": ExperimentConfig().model_dump(mode="json"),
        "limits": {k: _limits(f) for k, f in fields.items() if _limits(f)},
        "max_upload_bytes": MAX_UPLOAD_BYTES,
    })


def _limits(field) -> dict:
    out = {}
    for m in field.metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(m, attr, None) is not None:
                out[attr] = getattr(m, attr)
    return out


# ------------------------------------------------------------------------------------ uploads


async def upload(request: Request) -> Response:
    """A CSV file of ``x1,x2,label`` rows as the request body; answers its ``upload_id``.

    Quota: ``uploads_per_day_anonymous`` per address for visitors who are not signed in, and
    ``uploads_per_day_user`` per account; uploads that no saved experiment uses are deleted a day
    after they were made (``Store.delete_expired``), so the uploads table stays bounded.
    """
    ctx = await context(request, write=True)
    limits = request.app.state.limits
    store = request.app.state.store
    if ctx.user is not None:
        owner, quota = f"user:{ctx.user.id}", limits.uploads_per_day_user
    else:
        owner, quota = f"anon:{client_address(request)}", limits.uploads_per_day_anonymous
    made = await run_in_threadpool(store.count_uploads, owner, time.time() - 86400)
    if made >= quota:
        whose = "your account" if ctx.user else "your address"
        raise HTTPError(429, f"{made} uploads in the last 24 hours from {whose}"
                             f" (the limit is {quota}); reuse an upload_id" + ("" if ctx.user else " or sign in"),
                        headers={"Retry-After": "3600"})
    raw = await request.body()
    try:
        data = await run_in_threadpool(parse_csv, raw)
    except CsvSyntaxError as exc:
        raise HTTPError(400, f"file: {exc}") from None
    except CsvError as exc:
        raise unprocessable([{"field": "file", "message": str(exc)}]) from None
    uid = await run_in_threadpool(store.create_upload, data.to_json(), len(data.y), owner)
    return JSONResponse({"upload_id": uid, "rows": len(data.y), "problem": data.problem, "classes": data.classes},
                        status_code=201)


async def _load_upload(request: Request, config: ExperimentConfig) -> dict | None:
    if config.upload_id is None:
        return None
    data = await run_in_threadpool(request.app.state.store.get_upload, config.upload_id)
    if data is None:
        raise unprocessable([{"field": "upload_id", "message": "no such upload (it may have expired); upload the "
                                                               "file again"}])
    if config.problem != data["problem"]:
        kind = {"regression": "real-valued labels", "classification": "two classes",
                "multiclass": f"{data['classes']} classes"}[data["problem"]]
        raise unprocessable([{"field": "problem", "message": f"the uploaded file has {kind}, so problem must be "
                                                             f"{data['problem']!r}"}])
    return data


def _config(data: dict) -> ExperimentConfig:
    try:
        return parse_config(data)
    except ConfigError as exc:
        raise unprocessable(exc.errors) from None


# ------------------------------------------------------------------------------------ runs


def _own_run(request: Request, ctx: Ctx) -> RunInfo:
    info = request.app.state.pool.runs.get(request.path_params["run_id"])
    if info is None or ctx.owner is None or info.owner != ctx.owner:
        raise HTTPError(404, "no such run (it may have ended after a while unwatched; start training again)")
    return info


def _run_json(info: RunInfo, history: bool = False) -> dict:
    out = {"run_id": info.id, "status": info.status, "epoch": info.epoch, "message": info.message,
           "train_loss": info.head.get("train_loss"), "test_loss": info.head.get("test_loss"),
           "steps": info.head.get("steps"), "config": info.config}
    if history:
        out["history"] = info.history
    return out


async def create_run(request: Request) -> Response:
    ctx = await context(request, write=True)
    body = parse_model(NewRun, await json_body(request))
    config = _config(body.config)
    upload_data = await _load_upload(request, config)
    app = request.app
    pool = app.state.pool
    limits = app.state.limits
    address = client_address(request)
    quota = f"user:{ctx.user.id}" if ctx.user is not None else f"anon:{address}"
    # Limits, each applied in turn: this browser's runs; the quota's (an account's, or all anonymous
    # runs from one address: sessions are free to make, addresses are not); every run from the address.
    groups = [(lambda i: i.owner == ctx.owner, limits.runs_per_client, None),
              (lambda i: i.quota == quota, limits.runs_per_user if ctx.user is not None else limits.runs_per_anonymous,
               "your account" if ctx.user is not None else "anonymous visitors from your address"),
              (lambda i: i.address == address, limits.runs_per_address, "your address")]
    for belongs, limit, whose in groups:
        while True:
            group = sorted((i for i in pool.runs.values() if belongs(i)), key=lambda i: i.created)
            if len(group) < limit:
                break
            mine = [i for i in group if i.owner == ctx.owner]
            if not mine:  # someone else's runs fill it: never close those
                raise HTTPError(429, f"{whose} already has {len(group)} networks training (the limit is {limit}); "
                                     "close one, or sign in for a larger allowance", headers={"Retry-After": "60"})
            pool.close_run(mine[0].id)  # a page that reloads leaves its old runs behind: the oldest make room
    points = await run_in_threadpool(_points, config, upload_data)
    try:
        info = pool.create(secrets.token_urlsafe(12), ctx.owner, config.model_dump(mode="json"), upload_data,
                           address=address, quota=quota)
    except PoolFull as exc:
        raise HTTPError(503, str(exc), headers={"Retry-After": "60"}) from None
    return JSONResponse({**_run_json(info), "points": points}, status_code=201)


def _points(config: ExperimentConfig, upload_data: dict | None) -> dict:
    """The run's train and test points as ``[[x1, x2, label], ...]`` for the page to draw."""
    d = make_data(config.problem, config.dataset, config.n_points, config.noise, config.test_ratio, config.seed,
                  config.classes, Upload.from_json(upload_data) if upload_data else None)

    def rows(x, y):
        return [[round(float(a), 4), round(float(b), 4), (round(float(t), 4) if d.problem == "regression" else int(t))]
                for (a, b), t in zip(x, y)]

    return {"train": rows(d.x_train, d.y_train), "test": rows(d.x_test, d.y_test)}


async def get_run(request: Request) -> Response:
    ctx = await context(request)
    info = _own_run(request, ctx)
    info.last_seen = time.monotonic()
    return JSONResponse(_run_json(info, history=True))


async def control_run(request: Request) -> Response:
    ctx = await context(request, write=True)
    info = _own_run(request, ctx)
    action = request.path_params["action"]
    if action not in ACTIONS:
        raise HTTPError(404, f"unknown action {action!r}; use one of {ACTIONS}")
    try:
        request.app.state.pool.command(info.id, action)
    except RunBusy as exc:
        raise HTTPError(429, str(exc), headers={"Retry-After": "1"}) from None
    return JSONResponse({"run_id": info.id, "action": action}, status_code=202)


async def delete_run(request: Request) -> Response:
    ctx = await context(request, write=True)
    info = _own_run(request, ctx)
    request.app.state.pool.close_run(info.id)
    return Response(status_code=204)


async def run_events(request: Request) -> Response:
    """Server-sent events: ``history`` (the loss curve so far), then a ``frame`` per update."""
    ctx = await context(request)
    info = _own_run(request, ctx)
    pool = request.app.state.pool
    q = pool.subscribe(info.id)
    keepalive = request.app.state.sse_keepalive

    async def stream():
        try:
            yield f"event: history\ndata: {json.dumps(info.history)}\n\n"
            if info.latest is not None:
                yield f"event: frame\ndata: {info.latest}\n\n"
            while True:
                try:
                    item = await asyncio.wait_for(q.get(), keepalive)
                except asyncio.TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                if item is None:
                    yield "event: closed\ndata: {}\n\n"
                    return
                yield f"event: frame\ndata: {item}\n\n"
        finally:
            pool.unsubscribe(info.id, q)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


async def _snapshot(request: Request, info: RunInfo) -> dict:
    snap = await request.app.state.pool.snapshot(info.id, request.app.state.limits.snapshot_timeout)
    if snap is None:
        raise HTTPError(409, "the run is not ready yet (or its worker restarted); try again")
    return snap


async def export_run_weights(request: Request) -> Response:
    ctx = await context(request)
    snap = await _snapshot(request, _own_run(request, ctx))
    return Response(snap["weights"], media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="playground.safetensors"'})


async def export_run_code(request: Request) -> Response:
    ctx = await context(request)
    info = _own_run(request, ctx)
    config = parse_config(info.config)
    code = generate_code(config, max(info.epoch, 1), Upload.from_json(info.upload) if info.upload else None)
    return Response(code, media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="playground_experiment.py"'})


# ------------------------------------------------------------------------------------ experiments


def _experiment_json(e: dict, ctx: Ctx) -> dict:
    mine = ctx.user is not None and e["owner_id"] == ctx.user.id
    return {"id": e["id"], "name": e["name"], "config": e["config"], "metrics": e["metrics"], "epoch": e["epoch"],
            "shared": e["shared"], "owned": mine, "created_at": e["created_at"], "updated_at": e["updated_at"],
            "thumbnail": f"/api/experiments/{e['id']}/thumbnail.png" if e["has_thumbnail"] else None,
            "has_weights": e["has_weights"], "link": f"/?experiment={e['id']}"}


async def _readable(request: Request, ctx: Ctx, with_blobs: bool = False) -> dict:
    """The experiment if the caller owns it or it is shared; otherwise 404 (never 403: no existence leak)."""
    e = await run_in_threadpool(request.app.state.store.get_experiment, request.path_params["exp_id"], with_blobs)
    if e is None or not (e["shared"] or (ctx.user is not None and e["owner_id"] == ctx.user.id)):
        raise HTTPError(404, "no such experiment")
    return e


async def _writable(request: Request, ctx: Ctx) -> dict:
    e = await _readable(request, ctx)
    if ctx.user is None or e["owner_id"] != ctx.user.id:
        raise HTTPError(403, "this shared experiment is read-only: save a copy of your own to change it")
    return e


async def list_experiments(request: Request) -> Response:
    ctx = await context(request, need_user=True)
    rows = await run_in_threadpool(request.app.state.store.list_experiments, ctx.user.id)
    return JSONResponse({"experiments": [_experiment_json(e, ctx) for e in rows]})


async def save_experiment(request: Request) -> Response:
    ctx = await context(request, write=True, need_user=True)
    body = parse_model(SaveExperiment, await json_body(request))
    store = request.app.state.store
    if body.run_id is not None:
        request.path_params["run_id"] = body.run_id
        try:
            info = _own_run(request, ctx)
        except HTTPError:
            raise unprocessable([{"field": "run_id", "message": "no such run of yours (it may have ended)"}]) from None
        snap = await _snapshot(request, info)
        config, metrics, epoch = snap["config"], snap["metrics"], snap["epoch"]
        thumbnail, weights = snap["thumbnail"], snap["weights"]
    else:
        parsed = _config(body.config or {})
        await _load_upload(request, parsed)
        config, metrics, epoch, thumbnail, weights = parsed.model_dump(mode="json"), None, 0, None, None
    n = await run_in_threadpool(store.count_experiments, ctx.user.id)
    if n >= request.app.state.limits.experiments_per_user:
        raise HTTPError(429, f"you have {n} saved experiments, the limit; delete some to save more")
    e = await run_in_threadpool(store.create_experiment, ctx.user.id, body.name.strip(), config, metrics, epoch,
                                thumbnail, weights, body.shared)
    return JSONResponse(_experiment_json(e, ctx), status_code=201)


async def get_experiment(request: Request) -> Response:
    ctx = await context(request)
    return JSONResponse(_experiment_json(await _readable(request, ctx), ctx))


async def edit_experiment(request: Request) -> Response:
    ctx = await context(request, write=True)
    e = await _writable(request, ctx)
    body = parse_model(EditExperiment, await json_body(request))
    changes = body.model_dump(exclude_none=True)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise unprocessable([{"field": "name", "message": "name must not be blank"}])
    if changes:
        await run_in_threadpool(request.app.state.store.update_experiment, e["id"], **changes)
    return JSONResponse(_experiment_json(await _readable(request, ctx), ctx))


async def delete_experiment(request: Request) -> Response:
    ctx = await context(request, write=True)
    e = await _writable(request, ctx)
    await run_in_threadpool(request.app.state.store.delete_experiment, e["id"])
    return Response(status_code=204)


async def experiment_thumbnail(request: Request) -> Response:
    ctx = await context(request)
    e = await _readable(request, ctx, with_blobs=True)
    if e.get("thumbnail") is None:
        raise HTTPError(404, "this experiment has no thumbnail (it was saved without a run)")
    return Response(e["thumbnail"], media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


async def experiment_weights(request: Request) -> Response:
    ctx = await context(request)
    e = await _readable(request, ctx, with_blobs=True)
    if e.get("weights") is None:
        raise HTTPError(404, "this experiment has no weights (it was saved without a run)")
    return Response(e["weights"], media_type="application/octet-stream",
                    headers={"Content-Disposition": 'attachment; filename="playground.safetensors"'})


async def experiment_code(request: Request) -> Response:
    ctx = await context(request)
    e = await _readable(request, ctx)
    config = parse_config(e["config"])
    upload_data = await run_in_threadpool(request.app.state.store.get_upload, config.upload_id) \
        if config.upload_id else None
    if config.upload_id and upload_data is None:
        raise HTTPError(404, "the uploaded data of this experiment is gone")
    code = generate_code(config, max(e["epoch"], 1), Upload.from_json(upload_data) if upload_data else None)
    return Response(code, media_type="text/x-python; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="playground_experiment.py"'})


routes = [
    Route("/api/options", options),
    Route("/api/uploads", upload, methods=["POST"]),
    Route("/api/runs", create_run, methods=["POST"]),
    Route("/api/runs/{run_id}", get_run, methods=["GET"]),
    Route("/api/runs/{run_id}", delete_run, methods=["DELETE"]),
    Route("/api/runs/{run_id}/events", run_events),
    Route("/api/runs/{run_id}/export/weights.safetensors", export_run_weights),
    Route("/api/runs/{run_id}/export/code.py", export_run_code),
    Route("/api/runs/{run_id}/{action}", control_run, methods=["POST"]),
    Route("/api/experiments", list_experiments, methods=["GET"]),
    Route("/api/experiments", save_experiment, methods=["POST"]),
    Route("/api/experiments/{exp_id}", get_experiment, methods=["GET"]),
    Route("/api/experiments/{exp_id}", edit_experiment, methods=["PATCH"]),
    Route("/api/experiments/{exp_id}", delete_experiment, methods=["DELETE"]),
    Route("/api/experiments/{exp_id}/thumbnail.png", experiment_thumbnail),
    Route("/api/experiments/{exp_id}/export/weights.safetensors", experiment_weights),
    Route("/api/experiments/{exp_id}/export/code.py", experiment_code),
]
