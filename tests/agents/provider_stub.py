#!/usr/bin/env python3
"""A stand-in for the AI providers' HTTP APIs, on 127.0.0.1 only.

It speaks the wire formats the real agent CLIs use:
  - Anthropic Messages API: POST /v1/messages (JSON, or SSE when "stream": true)
    (Claude Code; also answers /v1/messages/count_tokens)
  - OpenAI Responses API: POST /v1/responses (SSE when "stream": true) (Codex)
  - Gemini API: POST /v1beta/models/<m>:generateContent, :streamGenerateContent
    (SSE with ?alt=sse) and :countTokens (Gemini CLI)
and fails in the providers' own documented error shapes, per scenario:

  success        a short answer with token usage
  rate_limit     429 + retry-after (Anthropic rate_limit_error, OpenAI
                 rate_limit_exceeded, Gemini RESOURCE_EXHAUSTED + RetryInfo)
  rate_limit_noreset  429 without any reset hint
  session_limit  Anthropic: 429 with the subscription ("unified") rate-limit
                 headers, status rejected and the reset as epoch seconds
  blip           529 (Anthropic overloaded_error) / 503 (OpenAI, Gemini
                 UNAVAILABLE) for the first --fail-count requests, then success
  server_error   500 on every request
  credit         Anthropic 400 "Your credit balance is too low", OpenAI 429
                 insufficient_quota, Gemini 429 daily quota (PerDay QuotaFailure)
  bad_key        401 (authentication_error / invalid_api_key / API_KEY_INVALID)

Control (for tests): POST /_control with a JSON object {"scenario": ...,
"fail_count": N, "reset_s": S} switches the scenario and clears the log;
GET /_log returns every model request seen so far as a JSON list of
{"t": epoch seconds, "path", "status"}; GET /_health answers 200.

Usage: provider_stub.py [--port N (0 = any)] [--scenario S] [--fail-count N]
       [--reset-s S] [--port-file FILE]
The chosen port is printed on stdout ("port N") and written to --port-file.
"""
import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SCENARIOS = ("success", "rate_limit", "rate_limit_noreset", "session_limit", "blip",
             "server_error", "credit", "bad_key")
ANSWER = "The stub provider says hello. Done."
USAGE_IN, USAGE_OUT = 1234, 56


class State:
    def __init__(self, scenario, fail_count, reset_s):
        self.lock = threading.Lock()
        self.set(scenario, fail_count, reset_s)

    def set(self, scenario, fail_count, reset_s):
        if scenario not in SCENARIOS:
            raise ValueError("unknown scenario %r" % scenario)
        self.scenario = scenario
        self.fail_count = fail_count
        self.reset_s = reset_s
        self.failed = 0
        self.log = []

    def decide(self, path):
        """The scenario's verdict for one model request: None (answer) or
        the failure kind."""
        with self.lock:
            s = self.scenario
            if s == "blip":
                if self.failed < self.fail_count:
                    self.failed += 1
                    return "overloaded"
                return None
            if s == "success":
                return None
            return s

    def record(self, path, status):
        with self.lock:
            self.log.append({"t": time.time(), "path": path, "status": status})


# ---- error bodies, per provider ------------------------------------------------

def anthropic_error(kind, reset_s):
    """(status, headers, body) in the Anthropic API's documented shape:
    {"type": "error", "error": {"type": ..., "message": ...}, "request_id"}."""
    now = int(time.time())
    reset_epoch = now + reset_s
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset_epoch))
    h = {"request-id": "req_stub" + uuid.uuid4().hex[:16]}
    if kind == "rate_limit":
        h.update({"retry-after": str(reset_s),
                  "anthropic-ratelimit-requests-limit": "50",
                  "anthropic-ratelimit-requests-remaining": "0",
                  "anthropic-ratelimit-requests-reset": iso,
                  "anthropic-ratelimit-tokens-reset": iso})
        return 429, h, ("rate_limit_error",
                        "This request would exceed the rate limit for your organization "
                        "of 50 requests per minute. For details, refer to: "
                        "https://docs.claude.com/en/api/rate-limits.")
    if kind == "rate_limit_noreset":
        return 429, h, ("rate_limit_error", "Number of requests has exceeded your rate limit.")
    if kind == "session_limit":
        h.update({"anthropic-ratelimit-unified-status": "rejected",
                  "anthropic-ratelimit-unified-reset": str(reset_epoch),
                  "anthropic-ratelimit-unified-representative-claim": "five_hour",
                  "anthropic-ratelimit-unified-5h-status": "rejected",
                  "anthropic-ratelimit-unified-5h-reset": str(reset_epoch),
                  "anthropic-ratelimit-unified-5h-utilization": "1.0",
                  "anthropic-ratelimit-unified-fallback": "unavailable",
                  "retry-after": str(reset_s)})
        return 429, h, ("rate_limit_error", "Rate limited")
    if kind == "overloaded":
        return 529, h, ("overloaded_error", "Overloaded")
    if kind == "server_error":
        return 500, h, ("api_error", "Internal server error")
    if kind == "credit":
        return 400, h, ("invalid_request_error",
                        "Your credit balance is too low to access the Anthropic API. "
                        "Please go to Plans & Billing to upgrade or purchase credits.")
    if kind == "bad_key":
        return 401, h, ("authentication_error", "invalid x-api-key")
    return 500, h, ("api_error", "unknown stub scenario")


def openai_error(kind, reset_s):
    """{"error": {"message", "type", "param", "code"}} as the OpenAI API sends."""
    h = {"x-request-id": "req_" + uuid.uuid4().hex}
    if kind == "rate_limit":
        h.update({"retry-after": str(reset_s),
                  "x-ratelimit-limit-requests": "500",
                  "x-ratelimit-remaining-requests": "0",
                  "x-ratelimit-reset-requests": "%ds" % reset_s})
        return 429, h, {"message": "Rate limit reached for gpt-5 in organization org-stub on "
                                   "requests per min (RPM): Limit 500, Used 500, Requested 1. "
                                   "Please try again in %ds. Visit "
                                   "https://platform.openai.com/account/rate-limits to learn "
                                   "more." % reset_s,
                        "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    if kind in ("rate_limit_noreset", "session_limit"):
        return 429, h, {"message": "Rate limit reached for requests", "type": "requests",
                        "param": None, "code": "rate_limit_exceeded"}
    if kind == "overloaded":
        return 503, h, {"message": "The server is overloaded or not ready yet.",
                        "type": "server_error", "param": None, "code": None}
    if kind == "server_error":
        return 500, h, {"message": "The server had an error while processing your request. "
                                   "Sorry about that!",
                        "type": "server_error", "param": None, "code": None}
    if kind == "credit":
        return 429, h, {"message": "You exceeded your current quota, please check your plan "
                                   "and billing details. For more information on this error, "
                                   "read the docs: https://platform.openai.com/docs/guides/"
                                   "error-codes/api-errors.",
                        "type": "insufficient_quota", "param": None,
                        "code": "insufficient_quota"}
    if kind == "bad_key":
        return 401, h, {"message": "Incorrect API key provided: sk-stub***. You can find your "
                                   "API key at https://platform.openai.com/account/api-keys.",
                        "type": "invalid_request_error", "param": None,
                        "code": "invalid_api_key"}
    return 500, h, {"message": "unknown stub scenario", "type": "server_error",
                    "param": None, "code": None}


def gemini_error(kind, reset_s):
    """google.rpc.Status as the Gemini API sends: {"error": {"code", "message",
    "status", "details": [...]}}."""
    h = {}
    if kind in ("rate_limit", "credit"):
        daily = kind == "credit"
        quota_id = ("GenerateRequestsPerDayPerProjectPerModel-FreeTier" if daily
                    else "GenerateRequestsPerMinutePerProjectPerModel-FreeTier")
        metric = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
        details = [
            {"@type": "type.googleapis.com/google.rpc.QuotaFailure",
             "violations": [{"quotaMetric": metric, "quotaId": quota_id,
                             "quotaDimensions": {"location": "global",
                                                 "model": "gemini-2.5-pro"},
                             "quotaValue": "50" if daily else "2"}]},
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        ]
        if not daily:
            details.append({"@type": "type.googleapis.com/google.rpc.RetryInfo",
                            "retryDelay": "%ds" % reset_s})
        msg = ("You exceeded your current quota, please check your plan and billing details. "
               "For more information on this error, head to: "
               "https://ai.google.dev/gemini-api/docs/rate-limits. "
               "* Quota exceeded for metric: %s, limit: %s, model: gemini-2.5-pro"
               % (metric, "50" if daily else "2"))
        if not daily:
            msg += "\nPlease retry in %d.5s." % reset_s
        return 429, h, {"code": 429, "message": msg, "status": "RESOURCE_EXHAUSTED",
                        "details": details}
    if kind in ("rate_limit_noreset", "session_limit"):
        return 429, h, {"code": 429, "message": "Resource has been exhausted "
                                                "(e.g. check quota).",
                        "status": "RESOURCE_EXHAUSTED"}
    if kind == "overloaded":
        return 503, h, {"code": 503, "message": "The model is overloaded. Please try again "
                                                "later.", "status": "UNAVAILABLE"}
    if kind == "server_error":
        return 500, h, {"code": 500, "message": "An internal error has occurred. Please retry "
                                                "or report in "
                                                "https://developers.generativeai.google/guide/"
                                                "troubleshooting", "status": "INTERNAL"}
    if kind == "bad_key":
        return 400, h, {"code": 400, "message": "API key not valid. Please pass a valid API "
                                                "key.", "status": "INVALID_ARGUMENT",
                        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                     "reason": "API_KEY_INVALID",
                                     "domain": "googleapis.com",
                                     "metadata": {"service":
                                                  "generativelanguage.googleapis.com"}}]}
    return 500, h, {"code": 500, "message": "unknown stub scenario", "status": "INTERNAL"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "provider-stub/1"

    def log_message(self, fmt, *args):  # quiet; the log is /_log
        if self.server.verbose:
            sys.stderr.write("stub: " + (fmt % args) + "\n")

    # -- plumbing --
    def body(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return {}

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events):
        """events: list of (event name or None, data object)."""
        chunks = []
        for name, data in events:
            s = ""
            if name:
                s += "event: %s\n" % name
            s += "data: %s\n\n" % json.dumps(data)
            chunks.append(s)
        data = "".join(chunks).encode()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- routes --
    def do_GET(self):
        st = self.server.state
        if self.path.startswith("/_log"):
            with st.lock:
                return self.send_json(200, list(st.log))
        if self.path.startswith("/_health"):
            return self.send_json(200, {"ok": True, "scenario": st.scenario})
        # Codex asks for its model list; an empty one is fine.
        if self.path.startswith("/v1/models"):
            return self.send_json(200, {"object": "list", "data": [], "models": []})
        self.send_json(404, {"error": {"message": "not found: " + self.path}})

    def do_POST(self):
        st = self.server.state
        path = self.path.split("?")[0]
        req = self.body()
        if path == "/_control":
            try:
                with st.lock:
                    st.set(req.get("scenario", "success"), int(req.get("fail_count", 2)),
                           int(req.get("reset_s", 120)))
            except ValueError as e:
                return self.send_json(400, {"error": str(e)})
            return self.send_json(200, {"ok": True})
        if path.startswith("/v1/messages/count_tokens"):
            return self.send_json(200, {"input_tokens": USAGE_IN})
        if path.endswith(":countTokens"):
            return self.send_json(200, {"totalTokens": USAGE_IN})
        if path.startswith("/v1/messages"):
            return self.anthropic(path, req)
        if path.startswith("/v1/responses"):
            return self.openai(path, req)
        if path.startswith("/v1beta/models/") or path.startswith("/v1/models/"):
            return self.gemini(path, req)
        self.send_json(404, {"error": {"message": "not found: " + self.path}})

    def anthropic(self, path, req):
        st = self.server.state
        kind = st.decide(path)
        if kind:
            status, h, (etype, msg) = anthropic_error(kind, st.reset_s)
            st.record(path, status)
            return self.send_json(status, {"type": "error",
                                           "error": {"type": etype, "message": msg},
                                           "request_id": h["request-id"]}, h)
        st.record(path, 200)
        model = req.get("model", "claude-sonnet-4-5")
        mid = "msg_stub" + uuid.uuid4().hex[:20]
        usage = {"input_tokens": USAGE_IN, "output_tokens": USAGE_OUT,
                 "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not req.get("stream"):
            return self.send_json(200, {"id": mid, "type": "message", "role": "assistant",
                                        "model": model,
                                        "content": [{"type": "text", "text": ANSWER}],
                                        "stop_reason": "end_turn", "stop_sequence": None,
                                        "usage": usage})
        start = {"id": mid, "type": "message", "role": "assistant", "model": model,
                 "content": [], "stop_reason": None, "stop_sequence": None,
                 "usage": dict(usage, output_tokens=1)}
        self.send_sse([
            ("message_start", {"type": "message_start", "message": start}),
            ("content_block_start", {"type": "content_block_start", "index": 0,
                                     "content_block": {"type": "text", "text": ""}}),
            ("ping", {"type": "ping"}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": ANSWER}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta",
                               "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": USAGE_OUT}}),
            ("message_stop", {"type": "message_stop"}),
        ])

    def openai(self, path, req):
        st = self.server.state
        kind = st.decide(path)
        if kind:
            status, h, err = openai_error(kind, st.reset_s)
            st.record(path, status)
            return self.send_json(status, {"error": err}, h)
        st.record(path, 200)
        model = req.get("model", "gpt-5")
        rid = "resp_stub" + uuid.uuid4().hex[:20]
        iid = "msg_stub" + uuid.uuid4().hex[:20]
        usage = {"input_tokens": USAGE_IN, "input_tokens_details": {"cached_tokens": 0},
                 "output_tokens": USAGE_OUT, "output_tokens_details": {"reasoning_tokens": 0},
                 "total_tokens": USAGE_IN + USAGE_OUT}
        part = {"type": "output_text", "text": ANSWER, "annotations": []}
        item = {"id": iid, "type": "message", "status": "completed", "role": "assistant",
                "content": [part]}
        base = {"id": rid, "object": "response", "created_at": int(time.time()),
                "model": model, "output": [], "usage": None, "status": "in_progress"}
        done = dict(base, status="completed", output=[item], usage=usage)
        if not req.get("stream"):
            return self.send_json(200, done)
        seq = iter(range(1000))
        ev = lambda t, **kw: (t, dict({"type": t, "sequence_number": next(seq)}, **kw))
        self.send_sse([
            ev("response.created", response=base),
            ev("response.in_progress", response=base),
            ev("response.output_item.added", output_index=0,
               item=dict(item, status="in_progress", content=[])),
            ev("response.content_part.added", item_id=iid, output_index=0, content_index=0,
               part=dict(part, text="")),
            ev("response.output_text.delta", item_id=iid, output_index=0, content_index=0,
               delta=ANSWER),
            ev("response.output_text.done", item_id=iid, output_index=0, content_index=0,
               text=ANSWER),
            ev("response.content_part.done", item_id=iid, output_index=0, content_index=0,
               part=part),
            ev("response.output_item.done", output_index=0, item=item),
            ev("response.completed", response=done),
        ])

    def gemini(self, path, req):
        st = self.server.state
        kind = st.decide(path)
        if kind:
            status, h, err = gemini_error(kind, st.reset_s)
            st.record(path, status)
            return self.send_json(status, {"error": err}, h)
        st.record(path, 200)
        model = path.rsplit("/", 1)[-1].split(":")[0]
        # The CLI's model router asks for a JSON verdict; give it one.
        text = ANSWER
        cfg = req.get("generationConfig") or {}
        if cfg.get("responseMimeType") == "application/json":
            props = (cfg.get("responseJsonSchema") or cfg.get("responseSchema") or {}).get(
                "properties") or {}
            if "complexity_score" in props:
                text = json.dumps({"complexity_reasoning": "stub", "complexity_score": 10})
            else:
                text = json.dumps({"reasoning": "stub", "model_choice": "flash"})
        resp = {"candidates": [{"content": {"parts": [{"text": text}], "role": "model"},
                                "finishReason": "STOP", "index": 0}],
                "usageMetadata": {"promptTokenCount": USAGE_IN,
                                  "candidatesTokenCount": USAGE_OUT,
                                  "totalTokenCount": USAGE_IN + USAGE_OUT},
                "modelVersion": model, "responseId": uuid.uuid4().hex[:22]}
        if ":streamGenerateContent" in path:
            return self.send_sse([(None, resp)])
        self.send_json(200, resp)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--scenario", default="success", choices=SCENARIOS)
    ap.add_argument("--fail-count", type=int, default=2)
    ap.add_argument("--reset-s", type=int, default=120)
    ap.add_argument("--port-file")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.state = State(a.scenario, a.fail_count, a.reset_s)
    srv.verbose = a.verbose
    port = srv.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    print("port %d" % port, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
