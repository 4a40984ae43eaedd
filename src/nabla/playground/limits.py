"""Every quota and limit of the playground in one record, with the reasons for its defaults.

The playground is open to anonymous visitors, so each resource a request can consume is bounded:
worker time (runs, their command backlogs, their lifetime), memory (password hashes in flight),
storage (uploads, experiments, tokens, sessions) and sign-ups. ``create_app(limits=Limits(...))``
changes them; tests use small values to reach them quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Limits"]


@dataclass(frozen=True)
class Limits:
    # ---- training runs (the workers' time)
    max_runs: int = 200  # live runs on the server
    runs_per_client: int = 4  # per browser session: its oldest run makes room for a new one
    runs_per_anonymous: int = 4  # all anonymous runs from one client address (sessions are free, addresses not)
    runs_per_user: int = 8  # per signed-in account, over all its browsers and tokens
    runs_per_address: int = 16  # every run from one address (a shared NAT gets some room, one host not all)
    max_pending: int = 8  # commands waiting per run; more answer 429
    run_idle: float = 600.0  # a run nobody watches or touches for this long is closed
    run_command_idle: float = 1800.0  # ... or that got no command for this long, even with a stream open
    run_max_age: float = 4 * 3600.0  # ... and every run at this age
    snapshot_timeout: float = 10.0  # waiting for a worker's snapshot (saving, export) before answering 409
    housekeeping_interval: float = 30.0  # how often the expiry above is applied
    # ---- password hashing (argon2id takes 64 MiB and ~0.1-0.5 s per hash)
    hash_slots: int = 2  # hashes at once: peak hashing memory is hash_slots x 64 MiB
    hash_reserved_for_login: int = 1  # slots sign-ups may not take, so logins never wait behind sign-ups
    hash_queue: int = 16  # requests waiting for a slot; more answer 503 at once
    hash_wait: float = 10.0  # seconds a request waits for a slot before 503
    # ---- sign-ups
    registrations_in_flight_per_address: int = 2  # concurrent sign-ups per address; more answer 429
    registrations_per_hour_per_address: int = 20
    # ---- storage
    uploads_per_day_anonymous: int = 20  # per address
    uploads_per_day_user: int = 200
    upload_unreferenced_ttl: float = 86400.0  # an upload no saved experiment uses is deleted after this long
    experiments_per_user: int = 500
    tokens_per_user: int = 50
    token_max_days: int = 365  # a token lives at most this long (default 90 days)
    # ---- request bodies
    json_max_depth: int = 32  # nesting of JSON bodies (deeper: 400, before the parser recurses)
    body_timeout: float = 30.0  # seconds between chunks of a request body before 408 (slow-body attacks)
