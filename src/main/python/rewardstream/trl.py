"""A reward function with TRL's shape, backed by rewardstream."""

import uuid

from . import _schemas
from .client import RewardCollector, RolloutPublisher


class RewardTimeout(Exception):
    """Not every completion got a reward: some were dead-lettered (with the reason) or are still missing."""

    def __init__(self, message, result):
        super().__init__(message)
        self.result = result


def _text(x):
    """Plain text of a TRL prompt or completion: a string, or a conversation (a list of {"role", "content"})."""
    if isinstance(x, str):
        return x
    if isinstance(x, dict):
        return str(x.get("content", ""))
    if isinstance(x, (list, tuple)):
        return "\n".join(_text(m) for m in x)
    return str(x)


class RewardFunction:
    """``reward_fn(prompts, completions, **kwargs) -> list[float]``, usable in ``reward_funcs`` of TRL's GRPOTrainer.

    Each call publishes one rollout per completion (text, byte token ids, log-probs of 0, no reference log-probs,
    so the KL terms are 0 and the rewards are flagged NO_REFERENCE), grouping equal prompts of the call into one
    group (GRPO's num_generations samples of a prompt) with its ``group_size``, then waits up to ``timeout`` seconds
    for their rewards on the rewards topic. ``value`` picks the Reward field returned (``reward``, ``score`` or
    ``shaped_score``). When some completions get no reward, it raises :class:`RewardTimeout` naming the dead-lettered
    ones (with the scorer's reason) and the missing ones, or, with ``on_missing="none"``, returns None for them (TRL
    treats None as "not applicable").

    The last call's rollout ids and :class:`~rewardstream.client.CollectResult` are in ``last_rollout_ids`` and
    ``last_result``. Not thread-safe. ``close()`` releases the producer and consumer.
    """

    def __init__(self, bootstrap_servers, schema_registry_url, rollouts_topic="rollouts", rewards_topic="rewards",
                 dead_letter_topic="rewardstream-dead-letters", timeout=120.0, value="reward", on_missing="raise",
                 policy_version=None, backend="auto", producer_config=None, consumer_config=None,
                 registry_config=None, schemas_dir=None, name="rewardstream"):
        if value not in ("reward", "score", "shaped_score"):
            raise ValueError("value must be reward, score or shaped_score, got %r" % (value,))
        if on_missing not in ("raise", "none"):
            raise ValueError("on_missing must be raise or none, got %r" % (on_missing,))
        self.__name__ = name          # TRL logs each reward function under its __name__
        self.timeout = timeout
        self.value = value
        self.on_missing = on_missing
        self.policy_version = policy_version
        # The collector first: it reads from the topics' ends, so it must be positioned before anything is published.
        self.collector = RewardCollector(bootstrap_servers, schema_registry_url, rewards_topic, dead_letter_topic,
                                         rollouts_topic, consumer_config=consumer_config, backend=backend,
                                         registry_config=registry_config, schemas_dir=schemas_dir)
        self.publisher = RolloutPublisher(bootstrap_servers, schema_registry_url, rollouts_topic, producer_config,
                                          backend, registry_config, True, schemas_dir)
        self.last_rollout_ids = []
        self.last_result = None

    def _policy_version(self, kwargs):
        if self.policy_version is not None:
            return str(self.policy_version)
        state = kwargs.get("trainer_state")
        step = getattr(state, "global_step", None)
        return "step-%d" % step if step is not None else "trl"

    def __call__(self, prompts, completions, **kwargs):
        if len(prompts) != len(completions):
            raise ValueError("%d prompts for %d completions" % (len(prompts), len(completions)))
        call = "trl-" + str(uuid.uuid4())
        prompt_texts = [_text(p) for p in prompts]
        groups = {}
        for p in prompt_texts:
            groups.setdefault(p, len(groups))
        sizes = {}
        for p in prompt_texts:
            sizes[p] = sizes.get(p, 0) + 1
        version = self._policy_version(kwargs)
        rollouts = []
        for i, (p, c) in enumerate(zip(prompt_texts, completions)):
            rollouts.append(_schemas.text_rollout(
                p, _text(c), rollout_id="%s-%d" % (call, i), group_id="%s-p%d" % (call, groups[p]),
                group_size=sizes[p], policy_version=version, metadata={"source": "trl", "index": i}))
        empty = [i for i, r in enumerate(rollouts) if not r["response_token_ids"]]
        ids = self.publisher.publish([r for i, r in enumerate(rollouts) if i not in empty])
        result = self.collector.collect(ids, self.timeout)
        self.last_rollout_ids = ids
        self.last_result = result
        if not result.complete or empty:
            message = "rewardstream: %s%s" % (result.describe(), "; empty completions (not sent): %s" % empty
                                               if empty else "")
            if self.on_missing == "raise":
                raise RewardTimeout(message, result)
        values = iter(result.values(self.value))
        return [None if i in empty else next(values) for i in range(len(rollouts))]

    def close(self):
        self.publisher.close()
        self.collector.close()
