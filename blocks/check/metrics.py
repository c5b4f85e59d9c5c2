"""check.metrics: judge a canary against its baseline by what Prometheus measured."""
from __future__ import annotations

import math
from typing import Any

import httpx
from pydantic import Field

from nebhx import Brick, BrickFailed, Context, Ports, Url

ERRORS = ('(sum(rate(http_requests_total{code=~"5..",{selector}}[{window}])) or vector(0))'
          ' / sum(rate(http_requests_total{{selector}}[{window}]))')
LATENCY = 'histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{{selector}}[{window}])))'


def fill(query: str, selector: str, window: str) -> str:
    return query.replace("{selector}", selector).replace("{window}", window)


def instant(base: str, query: str, timeout: float) -> float | None:
    """The single value of an instant query (``/api/v1/query``); None when it has no data or is NaN."""
    try:
        resp = httpx.get(base.rstrip("/") + "/api/v1/query", params={"query": query}, timeout=timeout,
                         trust_env=False)
        body = resp.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise BrickFailed(f"Prometheus at {base} did not answer: {type(exc).__name__}: {exc}") from None
    if body.get("status") != "success":
        raise BrickFailed(f"Prometheus refused the query {query!r}: {body.get('error') or resp.text[:300]}")
    result = body["data"]["result"]
    if body["data"].get("resultType") == "scalar":
        result = [{"value": result}]
    if len(result) > 1:
        raise BrickFailed(f"the query {query!r} returned {len(result)} series; aggregate it to one (sum, max...)")
    value = float(result[0]["value"][1]) if result else None
    return None if value is None or math.isnan(value) else value


class MetricsCheck(Brick):
    """Compare a canary with its baseline on Prometheus metrics; fail the node when it is worse.

    Asks the Prometheus server at `prometheus` (its HTTP API, `/api/v1/query`) for the
    **error ratio** and a **latency quantile** of the canary's series and of the baseline's,
    chosen by PromQL label matchers (`canary`: e.g. `instance="10.231.0.11:8110"`,
    `baseline`: e.g. `instance=~"10.231.0.1[23]:8110"`). `{selector}` and `{window}` in the
    queries are replaced by a matcher and `window`; the defaults read the common
    `http_requests_total{code}` counter and the `http_request_duration_seconds` histogram.

    It takes `samples` readings, `interval_s` apart. A reading fails when the canary's error
    ratio is above `max_error_ratio`, or above the baseline's by more than
    `max_error_increase`, or its latency is over `max_latency_ratio` times the baseline's
    (when set). The node fails at the first failed reading (wire a rollback after it with
    trigger `any_failed`, as Argo Rollouts' analysis or Kayenta would abort), and also when
    the canary has no data in any reading. Outputs: every reading and the verdict.
    """

    id = "check.metrics"
    on_repeat = ""  # it only reads
    title = "Canary metrics check"
    category = "check"

    class Inputs(Ports):
        prometheus: Url = Field(description="Prometheus server, e.g. http://127.0.0.1:9090")
        canary: str = Field(min_length=1, description='Label matchers of the canary, e.g. instance="h1:8110"')
        baseline: str = Field(min_length=1, description='Label matchers of the baseline, e.g. job="web",instance!="h1:8110"')
        window: str = Field(default="1m", pattern=r"^\d+[smh]$", description="Rate window, e.g. 1m")
        error_ratio_query: str = Field(default=ERRORS, description="PromQL of the error ratio, with {selector} and {window}")
        latency_query: str = Field(default=LATENCY, description="PromQL of a latency quantile; empty: no latency check")
        max_error_ratio: float = Field(default=0.05, ge=0, le=1, description="Highest error ratio the canary may have")
        max_error_increase: float = Field(default=0.01, ge=0, le=1,
                                          description="How much higher than the baseline's its error ratio may be")
        max_latency_ratio: float | None = Field(default=1.5, gt=0,
                                                description="Canary latency / baseline latency allowed; none: no check")
        samples: int = Field(default=3, ge=1, le=100, description="Readings to take")
        interval_s: float = Field(default=10, ge=0, description="Pause between readings")
        timeout_s: float = Field(default=10, gt=0, description="Time limit of one query")

    class Outputs(Ports):
        ok: bool
        readings: list[dict[str, Any]]

    def run(self, ctx: Context, inputs: Inputs) -> Outputs:
        readings: list[dict[str, Any]] = []
        for i in range(inputs.samples):
            if i:
                ctx.sleep(inputs.interval_s)
            reading = self.read(inputs)
            reading["problems"] = self.judge(inputs, reading)
            readings.append(reading)
            ctx.log("reading %d: %s", i + 1, _shown(reading))
            if reading["problems"] and reading["canary_errors"] is not None:
                raise BrickFailed(f"canary is worse than its baseline: {'; '.join(reading['problems'])}")
        if all(r["canary_errors"] is None for r in readings):
            raise BrickFailed(f"no data for the canary ({inputs.canary}) in {inputs.samples} reading(s): "
                              "is Prometheus scraping it, and does it get traffic?")
        return self.Outputs(ok=True, readings=readings)

    @staticmethod
    def read(inputs: Inputs) -> dict[str, Any]:
        def q(query: str, selector: str) -> float | None:
            return instant(inputs.prometheus, fill(query, selector, inputs.window), inputs.timeout_s)
        out = {"canary_errors": q(inputs.error_ratio_query, inputs.canary),
               "baseline_errors": q(inputs.error_ratio_query, inputs.baseline)}
        if inputs.latency_query and inputs.max_latency_ratio is not None:
            out["canary_latency"] = q(inputs.latency_query, inputs.canary)
            out["baseline_latency"] = q(inputs.latency_query, inputs.baseline)
        return out

    @staticmethod
    def judge(inputs: Inputs, r: dict[str, Any]) -> list[str]:
        problems = []
        canary, base = r["canary_errors"], r["baseline_errors"]
        if canary is None:
            return ["no data for the canary"]
        if canary > inputs.max_error_ratio:
            problems.append(f"error ratio {canary:.3f} > max_error_ratio {inputs.max_error_ratio}")
        if base is not None and canary - base > inputs.max_error_increase:
            problems.append(f"error ratio {canary:.3f} exceeds the baseline's {base:.3f} by more than "
                            f"{inputs.max_error_increase}")
        lat, base_lat = r.get("canary_latency"), r.get("baseline_latency")
        if lat is not None and base_lat and inputs.max_latency_ratio and lat / base_lat > inputs.max_latency_ratio:
            problems.append(f"latency {lat:.3f}s is {lat / base_lat:.2f}x the baseline's {base_lat:.3f}s "
                            f"(max_latency_ratio {inputs.max_latency_ratio})")
        return problems


def _shown(r: dict[str, Any]) -> str:
    parts = [f"{k} {'-' if v is None else round(v, 4)}" for k, v in r.items() if k != "problems"]
    return ", ".join(parts) + (f" -> {'; '.join(r['problems'])}" if r["problems"] else " -> ok")
