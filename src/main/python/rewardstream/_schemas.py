"""The project's Avro contracts (schemas/*.avsc) and helpers to build records that match them."""

import json
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

#: Token id of UTF-8 byte b in the built-in byte tokenizer (tokenizer=bytes): b + BYTE_OFFSET.
BYTE_OFFSET = 4
#: Its BOS id (used as the prompt of a rollout that has no prompt).
BOS = 1


def schemas_dir(explicit=None):
    """Directory holding Rollout.avsc and Reward.avsc.

    Order: ``explicit``, ``$REWARDSTREAM_SCHEMAS``, then ``schemas/`` of the repository this package sits in
    (``src/main/python/rewardstream`` -> ``schemas``).
    """
    for d in (explicit, os.environ.get("REWARDSTREAM_SCHEMAS"), Path(__file__).resolve().parents[4] / "schemas"):
        if d and (Path(d) / "Rollout.avsc").is_file():
            return Path(d)
    raise FileNotFoundError("cannot find schemas/Rollout.avsc: pass schemas_dir=... or set REWARDSTREAM_SCHEMAS")


def schema_text(name, explicit_dir=None):
    """The text of schemas/<name>.avsc."""
    return (schemas_dir(explicit_dir) / (name + ".avsc")).read_text(encoding="utf-8")


def byte_token_ids(text):
    """Token ids of a text in the built-in byte tokenizer (what tokenizer=bytes models and the gateway use)."""
    return [b + BYTE_OFFSET for b in text.encode("utf-8")]


def now_utc():
    return datetime.now(timezone.utc)


def to_datetime(value):
    """timestamp-millis values: the avro library wants an aware datetime; epoch milliseconds are accepted too."""
    if value is None:
        return now_utc()
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(int(value) / 1000.0, tz=timezone.utc)


def make_rollout(response_token_ids, policy_logprobs, prompt_token_ids, *, rollout_id=None, group_id=None,
                 group_size=None, policy_version="0", prompt_text=None, response_text=None,
                 reference_logprobs=None, finish_reason="STOP", created_at=None, metadata=None):
    """A Rollout record (a dict with every field of schemas/Rollout.avsc).

    ``policy_logprobs`` (and ``reference_logprobs`` when given) need one value per response token; without reference
    log-probs the scorer's KL terms are 0 and the reward is flagged NO_REFERENCE. ``group_id`` defaults to the
    rollout id (a group of one); give the samples of one prompt one group id and ``group_size`` for GRPO/RLOO
    advantages.
    """
    rid = rollout_id or str(uuid.uuid4())
    return {
        "rollout_id": rid,
        "group_id": group_id or rid,
        "group_size": group_size,
        "policy_version": str(policy_version),
        "prompt_token_ids": [int(x) for x in prompt_token_ids],
        "response_token_ids": [int(x) for x in response_token_ids],
        "prompt_text": prompt_text,
        "response_text": response_text,
        "policy_logprobs": [float(x) for x in policy_logprobs],
        "reference_logprobs": None if reference_logprobs is None else [float(x) for x in reference_logprobs],
        "finish_reason": finish_reason,
        "created_at": to_datetime(created_at),
        "metadata": {str(k): str(v) for k, v in (metadata or {}).items()},
    }


def text_rollout(prompt, response, **kwargs):
    """A Rollout from text only (as the gateway builds them): byte token ids, log-probs of 0, no reference."""
    ids = byte_token_ids(response)
    return make_rollout(ids, [0.0] * len(ids), byte_token_ids(prompt) or [BOS], prompt_text=prompt,
                        response_text=response, **kwargs)


def compact(schema_str):
    """Compact JSON of a schema text (what gets registered when the subject does not exist yet)."""
    return json.dumps(json.loads(schema_str), separators=(",", ":"))
