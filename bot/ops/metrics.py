"""Prometheus series of the bot, and the one-line calls that feed them.

Call sites elsewhere (engine, outbox, scheduler, WeChat channel) call the
small functions below rather than touch prometheus-client, so the metric
names, labels and bucket choices live in one file.

Several processes: when `PROMETHEUS_MULTIPROC_DIR` is set (before the first
import of prometheus-client, as the systemd units and the compose file do),
every process writes its counters and histograms to files there and any
process answers `/metrics` with the totals of all of them (the client's
multiprocess mode). Without it each process reports its own.

Database-wide gauges (outbox depth, the human-handover queue) are not kept
per process: they are counted from the tables at scrape time, so every
process reports the same truth and nothing has to be summed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# The `_created` series double the output and no dashboard of ours reads them.
disable_created_metrics()

# A chat turn is usually tens of milliseconds; WeChat gives up after 5 s.
TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
NLU_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

TURNS = Counter("bot_turns", "Conversation turns handled", ["channel", "intent"])
TURN_SECONDS = Histogram(
    "bot_turn_seconds", "Time of one conversation turn", ["channel"], buckets=TURN_BUCKETS
)
NLU_SECONDS = Histogram("bot_nlu_parse_seconds", "Time of one NLU parse", buckets=NLU_BUCKETS)
# Short repeated messages (签到, 你好) reuse the day's reading instead of a parse (issue 17).
NLU_CACHE_HITS = Counter("bot_nlu_parse_cache_hits", "Messages read from the engine's reading cache")
HTTP_REQUESTS = Counter("bot_http_requests", "HTTP requests answered", ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "bot_http_request_seconds", "Time to answer an HTTP request", ["route"], buckets=HTTP_BUCKETS
)
SENDS = Counter(
    "bot_outbox_sends",
    "Outbox send attempts by outcome (sent, rate_limited, unreachable, retry, dead, failed, skipped)",
    ["channel", "result"],
)
RETRY_AFTER = Counter(
    "bot_outbox_retry_after_pauses", "Pauses a platform asked for (429 / retry_after)", ["channel"]
)
RETRY_AFTER_SECONDS = Counter(
    "bot_outbox_retry_after_seconds", "Seconds of pause the platforms asked for", ["channel"]
)
DROPPED_LATE = Counter(
    "bot_outbox_dropped_late",
    "Rows not sent because they could no longer arrive before their deadline (a reminder after class start)",
    ["channel", "kind"],
)
TOKEN_REFRESHES = Counter(
    "bot_token_refreshes",
    "Access-token refreshes (normal, or forced after a refused token)",
    ["channel", "kind"],
)
JOB_RUNS = Counter("bot_scheduler_job_runs", "Scheduled job runs", ["job"])
JOB_FAILURES = Counter("bot_scheduler_job_failures", "Scheduled job runs that raised", ["job"])
JOB_SKIPS = Counter(
    "bot_scheduler_job_skips", "Ticks skipped because the previous run of the job was still going", ["job"]
)
JOB_SECONDS = Histogram(
    "bot_scheduler_job_seconds",
    "Time of one scheduled job run",
    ["job"],
    buckets=(*HTTP_BUCKETS, 30.0, 120.0),
)
PASSIVE_OVERRUNS = Counter(
    "bot_wechat_passive_reply_overruns",
    "WeChat deliveries not answered in the passive reply (slow turn, or reply too long)",
    ["reason"],
)


# ---- the one-line calls -------------------------------------------------------------------------

# The per-turn and per-request series by their labels: prometheus-client keeps each child for
# good, but finding it again (`labels()`, label checks and a lock) was 1-2 % of a turn's CPU.
_CHILDREN: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (metric, *labels)
    child = _CHILDREN.get(key)
    if child is None:
        child = _CHILDREN[key] = metric.labels(*labels)
    return child


def turn(channel: str, intent: str | None, seconds: float) -> None:
    _child(TURNS, channel, intent or "none").inc()
    _child(TURN_SECONDS, channel).observe(seconds)


def nlu_parse(seconds: float) -> None:
    NLU_SECONDS.observe(seconds)


def nlu_cache_hit() -> None:
    NLU_CACHE_HITS.inc()


def http_request(method: str, route: str, status: int, seconds: float) -> None:
    _child(HTTP_REQUESTS, method, route, str(status)).inc()
    _child(HTTP_SECONDS, route).observe(seconds)


def send(channel: str, result: str) -> None:
    SENDS.labels(channel, result).inc()


def retry_after(channel: str, seconds: float) -> None:
    """A 429 (or WeChat's "too fast"): counted as a send result and as a pause."""
    SENDS.labels(channel, "rate_limited").inc()
    RETRY_AFTER.labels(channel).inc()
    RETRY_AFTER_SECONDS.labels(channel).inc(max(0.0, seconds))


def dropped_late(channel: str, kind: str, count: int = 1) -> None:
    DROPPED_LATE.labels(channel, kind).inc(count)


def token_refresh(channel: str, *, forced: bool) -> None:
    TOKEN_REFRESHES.labels(channel, "forced" if forced else "normal").inc()


def job_run(job: str, seconds: float, *, failed: bool) -> None:
    JOB_RUNS.labels(job).inc()
    JOB_SECONDS.labels(job).observe(seconds)
    if failed:
        JOB_FAILURES.labels(job).inc()


def job_skipped(job: str) -> None:
    JOB_SKIPS.labels(job).inc()


def passive_overrun(reason: str) -> None:
    PASSIVE_OVERRUNS.labels(reason).inc()


class TimedNLU:
    """Wraps the NLU so every parse is timed, whoever calls it."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def parse(self, text: str, today: Any = None) -> Any:
        started = time.perf_counter()
        try:
            return self._inner.parse(text, today)
        finally:
            nlu_parse(time.perf_counter() - started)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# ---- exposition ---------------------------------------------------------------------------------


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def mark_process_dead() -> None:
    """Tell the multiprocess files this process is gone (its live gauges stop counting)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


class _Snapshot:
    """A collector over metric families computed just before the scrape."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def render(database_gauges: Iterable[Metric]) -> tuple[bytes, str]:
    """The exposition text: process (or all-process) series plus the database gauges."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest(REGISTRY)
    snapshot = CollectorRegistry()
    snapshot.register(_Snapshot(database_gauges))
    return body + generate_latest(snapshot), CONTENT_TYPE_LATEST


def gauge(name: str, doc: str, labels: list[str], rows: Iterable[tuple[Iterable[str], float]]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(list(values), value)
    return family
