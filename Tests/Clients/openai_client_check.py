"""Drives a running ScaleLLM server with the official OpenAI Python client and Prometheus' own parser.

Run by Tests/EndToEndTests/ClientCompatibilityTests.swift (which starts the server) as
    .cache/venv/bin/python Tests/Clients/openai_client_check.py BASE_URL API_KEY GOLDEN_JSON
Every check asserts; the first failure exits non-zero with its message.
"""
import json
import sys
import urllib.request

import openai
from prometheus_client.parser import text_string_to_metric_families

base_url, api_key, golden_path = sys.argv[1:4]
golden = {case["id"]: case for case in json.load(open(golden_path))["cases"]}
story = golden["story_opening"]
expected = story["expected_completion_text"]

client = openai.OpenAI(base_url=base_url + "/v1", api_key=api_key, max_retries=0, timeout=120)
model = client.models.list().data[0].id

# Completions, not streamed: the golden greedy text and usage.
completion = client.completions.create(model=model, prompt=story["prompt"], max_tokens=48, temperature=0)
assert completion.choices[0].text == expected, (completion.choices[0].text, expected)
assert completion.choices[0].finish_reason == "length"
assert completion.usage.prompt_tokens == story["prompt_num_tokens"], completion.usage
assert completion.usage.completion_tokens == 48

# Streamed, with usage in the last chunk.
text, usage, finish = "", None, None
for chunk in client.completions.create(model=model, prompt=story["prompt"], max_tokens=48, temperature=0, stream=True,
                                       stream_options={"include_usage": True}):
    if chunk.choices:
        text += chunk.choices[0].text
        finish = chunk.choices[0].finish_reason or finish
    if chunk.usage:
        usage = chunk.usage
assert text == expected, (text, expected)
assert finish == "length" and usage.completion_tokens == 48, (finish, usage)

# Stop sequences: cut before the stop string, finish_reason "stop".
stop = expected[20:27]
stopped = client.completions.create(model=model, prompt=story["prompt"], max_tokens=48, temperature=0, stop=[stop])
assert stopped.choices[0].text == expected[: expected.index(stop)], stopped.choices[0].text
assert stopped.choices[0].finish_reason == "stop"
# usage and logprobs count the tokens up to the one that completed the stop string, none after it.
stopped_lp = client.completions.create(model=model, prompt=story["prompt"], max_tokens=48, temperature=0, stop=[stop], logprobs=0)
tokens = stopped_lp.choices[0].logprobs.tokens
assert stopped_lp.usage.completion_tokens == len(tokens) < 48, (stopped_lp.usage, tokens)
assert stop in "".join(tokens) and stop not in "".join(tokens[:-1]), tokens

# n = 2 with logprobs.
two = client.completions.create(model=model, prompt=story["prompt"], max_tokens=8, temperature=0, n=2, logprobs=2)
assert [c.index for c in two.choices] == [0, 1]
for c in two.choices:
    assert len(c.logprobs.token_logprobs) == 8 and len(c.logprobs.top_logprobs[0]) == 2, c.logprobs
    assert all(lp <= 0 for lp in c.logprobs.token_logprobs)

# Chat, not streamed and streamed: the golden chat answer.
chat_case = golden["chat_capital"]
messages = [{"role": "user", "content": "What is the capital of France? Answer briefly."}]
chat = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=48)
assert chat.choices[0].message.content == chat_case["expected_completion_text"], chat.choices[0].message
assert chat.choices[0].finish_reason == "stop" and chat.usage.prompt_tokens == chat_case["prompt_num_tokens"], chat
content = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
    model=model, messages=messages, temperature=0, max_tokens=48, stream=True) if c.choices)
assert content == chat_case["expected_completion_text"], content
chat_lp = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=4, logprobs=True, top_logprobs=2)
assert len(chat_lp.choices[0].logprobs.content) == 4 and len(chat_lp.choices[0].logprobs.content[0].top_logprobs) == 2

# Errors surface as the client's typed exceptions.
try:
    client.completions.create(model=model, prompt="x", max_tokens=100000)
    raise AssertionError("an over-long request was accepted")
except openai.BadRequestError as error:
    assert error.status_code == 400
try:
    openai.OpenAI(base_url=base_url + "/v1", api_key="wrong", max_retries=0).models.list()
    raise AssertionError("a wrong key was accepted")
except openai.AuthenticationError as error:
    assert error.status_code == 401

# /metrics parses with Prometheus' own parser and counts the requests above.
with urllib.request.urlopen(base_url + "/metrics", timeout=30) as response:
    families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
requests = {(s.labels["endpoint"], s.labels["status"]): s.value for s in families["scalellm_requests"].samples
            if s.name == "scalellm_requests_total"}
assert requests[("/v1/completions", "200")] >= 4, requests
assert families["scalellm_time_to_first_token_seconds"].type == "histogram"
print("openai client checks passed")
