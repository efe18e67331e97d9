#!/usr/bin/env python3
"""Builds the small fixtures of tests/compare/data (see README.md there): results in the
documented schemas of vLLM bench, inference-perf and the dashboards, with round numbers so
every figure can be checked by hand. Run from this directory; the outputs are committed."""
import json, math, os

def pct(xs, p):  # numpy.percentile, linear interpolation
    xs = sorted(xs)
    r = p / 100 * (len(xs) - 1)
    lo, hi = math.floor(r), math.ceil(r)
    return xs[lo] + (r - lo) * (xs[hi] - xs[lo])

def mean(xs): return sum(xs) / len(xs)
def std(xs):
    m = mean(xs); return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

# ---- vllm bench serve --save-result --save-detailed (vLLM benchmarks/serve.py key order) ----
reqs = [  # (input, output, ttft s, itls s, error)
    (100, 4, 0.050, [0.010, 0.012, 0.014], ""),
    (200, 3, 0.070, [0.020, 0.010], ""),
    (300, 2, 0.090, [0.030], ""),
    (400, 0, 0.0, [], "ClientConnectorError: connection refused"),
]
ok = [r for r in reqs if not r[4]]
ttfts = [r[2] * 1e3 for r in ok]
tpots = [sum(r[3]) * 1e3 / (r[1] - 1) for r in ok if r[1] > 1]
itls = [g * 1e3 for r in ok for g in r[3]]
e2els = [(r[2] + sum(r[3])) * 1e3 for r in ok]
dur = 1.5
tin, tout = sum(r[0] for r in ok), sum(r[1] for r in ok)
res = {
    "date": "20250901-120000", "endpoint_type": "openai", "backend": "openai", "label": None,
    "model_id": "meta-llama/Llama-3.1-8B-Instruct", "tokenizer_id": "meta-llama/Llama-3.1-8B-Instruct",
    "num_prompts": 4, "request_rate": 4.0, "burstiness": 1.0, "max_concurrency": None,
    "duration": dur, "completed": len(ok), "total_input_tokens": tin, "total_output_tokens": tout,
    "request_throughput": len(ok) / dur, "request_goodput": None, "output_throughput": tout / dur,
    "total_token_throughput": (tin + tout) / dur,
    "input_lens": [r[0] for r in reqs], "output_lens": [r[1] for r in reqs],
    "ttfts": [r[2] for r in reqs], "itls": [r[3] for r in reqs],
    "generated_texts": ["a b c d", "e f g", "h i", ""], "errors": [r[4] for r in reqs],
    "max_output_tokens_per_s": 9.0, "max_concurrent_requests": 3,
}
for name, xs in (("ttft", ttfts), ("tpot", tpots), ("itl", itls), ("e2el", e2els)):
    res[f"mean_{name}_ms"] = mean(xs)
    res[f"median_{name}_ms"] = pct(xs, 50)
    res[f"std_{name}_ms"] = std(xs)
    res[f"p99_{name}_ms"] = pct(xs, 99)
with open("vllm-bench-detailed.json", "w") as f:
    json.dump(res, f)  # vLLM writes one line (json.dump without indent)

# ---- inference-perf results directory ----
d = "inference-perf-run"
os.makedirs(d, exist_ok=True)
starts = [1000.0, 1000.5, 1001.0, 1001.5]
ttft_s = [0.10, 0.12, 0.14, 0.16]
gap_s = [0.010, 0.011, 0.012, 0.013]
nout = 20
recs, lat, ttf, itl_all, tpot_client = [], [], [], [], []
for st, t, g in zip(starts, ttft_s, gap_s):
    times = [st + t + k * g for k in range(nout)]
    recs.append({"start_time": st, "end_time": times[-1], "request": "{\"prompt\": \"...\"}",
                 "response": "...", "info": {"input_tokens": 150, "output_tokens": nout,
                                             "output_token_times": times}, "error": None})
    lat.append(times[-1] - st); ttf.append(t); itl_all += [g] * (nout - 1)
    tpot_client.append(0.009)  # re-tokenized streamed text: not what the server produced
keys = ["mean", "min", "p0.1", "p1", "p5", "p10", "p25", "median", "p75", "p90", "p95", "p99", "p99.9", "max"]
def dist(xs):
    out = {}
    for k in keys:
        out[k] = mean(xs) if k == "mean" else min(xs) if k == "min" else max(xs) if k == "max" else \
            pct(xs, 50 if k == "median" else float(k[1:]))
    return out
span = max(r["end_time"] for r in recs) - min(starts)
summary = {
    "load_summary": {"count": 4, "schedule_delay": dist([0.001, 0.002, 0.001, 0.003])},
    "successes": {
        "count": 4,
        "latency": {"request_latency": dist(lat),
                    "normalized_time_per_output_token": dist([l / nout for l in lat]),
                    "time_per_output_token": dist(tpot_client),
                    "time_to_first_token": dist(ttf),
                    "inter_token_latency": dist(itl_all)},
        "throughput": {"input_tokens_per_sec": 600 / span, "output_tokens_per_sec": 80 / span,
                       "total_tokens_per_sec": 680 / span, "requests_per_sec": 4 / span},
        "prompt_len": dist([150] * 4), "output_len": dist([nout] * 4)},
    "failures": {"count": 0, "request_latency": None, "prompt_len": None},
}
stage = json.loads(json.dumps(summary))
stage["load_summary"].update({"send_duration": 1.5, "requested_rate": 2.0, "achieved_rate": 4 / 1.5})
for name, obj in (("summary_lifecycle_metrics.json", summary),
                  ("stage_0_lifecycle_metrics.json", stage),
                  ("per_request_lifecycle_metrics.json", recs)):
    with open(os.path.join(d, name), "w") as f:
        json.dump(obj, f, indent=2)
