"""Tests of the rewardstream Python client against a running stack: a broker, a registry and a scorer.

Environment (PythonClientIT sets it; by hand: `./rewardstream dev-stack` prints the first two, then run a scorer):
  KAFKA_BOOTSTRAP, SCHEMA_REGISTRY_URL        the stack
  ROLLOUTS_TOPIC, REWARDS_TOPIC, DEAD_LETTERS_TOPIC   the scorer's topics (defaults: rollouts, rewards,
                                              rewardstream-dead-letters)
Run: PYTHONPATH=src/main/python /usr/bin/python3 -m unittest discover -s src/test/python -v   (from the repository root)
"""

import os
import re
import subprocess
import sys
import unittest
import uuid
from pathlib import Path

INSTALL = ("rewardstream's Python client needs Debian's python3-confluent-kafka, python3-avro, python3-requests: "
           "apt-get install -y python3-confluent-kafka python3-avro python3-requests (and run with /usr/bin/python3)")
try:
    import avro  # noqa: F401
    import confluent_kafka  # noqa: F401
    import requests  # noqa: F401  (confluent_kafka's registry clients need it; Debian does not pull it in)
except ImportError as e:
    raise unittest.SkipTest("%s (%s)" % (INSTALL, e))

import rewardstream  # noqa: E402
from rewardstream import (RewardCollector, RewardFunction, RewardTimeout, RolloutPublisher,  # noqa: E402
                          byte_token_ids, make_rollout, text_rollout)

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP")
REGISTRY = os.environ.get("SCHEMA_REGISTRY_URL")
ROLLOUTS = os.environ.get("ROLLOUTS_TOPIC", "rollouts")
REWARDS = os.environ.get("REWARDS_TOPIC", "rewards")
DLQ = os.environ.get("DEAD_LETTERS_TOPIC", "rewardstream-dead-letters")
REPO = Path(__file__).resolve().parents[3]
TIMEOUT = float(os.environ.get("REWARD_TIMEOUT_S", "90"))

if not BOOTSTRAP or not REGISTRY:
    raise unittest.SkipTest("no stack: set KAFKA_BOOTSTRAP and SCHEMA_REGISTRY_URL (./rewardstream dev-stack prints "
                            "them) and run a scorer on the topics, or run PythonClientIT (./mvnw verify)")


def grpo_rollouts(tag, groups=3, k=4):
    """groups x k text rollouts with policy and reference log-probs (so KL is not 0)."""
    out = []
    for g in range(groups):
        prompt = "What is %d + %d? " % (g + 2, 2 * g + 3)
        for m in range(k):
            answer = str(3 * g + 5 + (m % 2) * (m + 1))
            ids = byte_token_ids(answer)
            policy = [-0.1 - 0.05 * t for t in range(len(ids))]
            reference = [p - 0.2 for p in policy]
            out.append(make_rollout(ids, policy, byte_token_ids(prompt), rollout_id="%s-g%d-r%d" % (tag, g, m),
                                    group_id="%s-g%d" % (tag, g), group_size=k, policy_version="step-1",
                                    prompt_text=prompt, response_text=answer, reference_logprobs=reference,
                                    metadata={"test": tag}))
    return out


class ClientCases:
    """Publish/collect cases, run once per codec backend."""
    backend = None

    def setUp(self):
        self.collector = RewardCollector(BOOTSTRAP, REGISTRY, REWARDS, DLQ, ROLLOUTS, backend=self.backend)
        self.publisher = RolloutPublisher(BOOTSTRAP, REGISTRY, ROLLOUTS, backend=self.backend)
        self.assertEqual(self.backend, self.publisher.codec.name)

    def tearDown(self):
        self.publisher.close()
        self.collector.close()

    def test_should_collect_one_reward_per_published_rollout(self):
        rollouts = grpo_rollouts("py-%s-%s" % (self.backend, uuid.uuid4().hex[:8]))
        ids = self.publisher.publish(rollouts)
        self.assertEqual([r["rollout_id"] for r in rollouts], ids)
        result = self.collector.collect(ids, TIMEOUT)
        self.assertTrue(result.complete, result.describe())
        self.assertEqual([], result.missing)
        for r in rollouts:
            reward = result.rewards[r["rollout_id"]]
            self.assertEqual(r["group_id"], reward["group_id"])
            self.assertEqual("step-1", reward["policy_version"])
            self.assertEqual(len(r["response_token_ids"]), len(reward["token_rewards"]))
            self.assertGreater(reward["kl"], 0.0, "reference log-probs were sent: KL must not be 0")
            self.assertNotIn("NO_REFERENCE", reward["flags"])
            self.assertAlmostEqual(reward["shaped_score"] - reward["kl_coef"] * reward["kl"], reward["reward"],
                                   places=4)

    def test_should_report_dead_lettered_with_reason_and_missing(self):
        tag = "py-bad-%s-%s" % (self.backend, uuid.uuid4().hex[:8])
        good = text_rollout("2 + 2 = ", "4", rollout_id=tag + "-good")
        bad = make_rollout(byte_token_ids("four"), [-0.5], byte_token_ids("2 + 2 = "), rollout_id=tag + "-bad")
        ids = self.publisher.publish([good, bad])
        never = tag + "-never-published"
        result = self.collector.collect(ids + [never], 8.0)
        self.assertFalse(result.complete)
        self.assertIn(good["rollout_id"], result.rewards)
        self.assertEqual([bad["rollout_id"]], list(result.dead_lettered))
        dead = result.dead_lettered[bad["rollout_id"]]
        self.assertEqual("LOGPROB_LENGTH_MISMATCH", dead.reason)
        self.assertIn("policy_logprobs", dead.detail)
        self.assertEqual([never], result.missing)
        self.assertIn("LOGPROB_LENGTH_MISMATCH", result.describe())


class LegacyClientTest(ClientCases, unittest.TestCase):
    """confluent_kafka.avro + the avro library: what Debian ships."""
    backend = "legacy"


@unittest.skipUnless(rewardstream.fastavro_available(),
                     "confluent_kafka.schema_registry serializers need fastavro, which Debian bookworm does not "
                     "package (pip install fastavro to run these)")
class SchemaRegistryClientTest(ClientCases, unittest.TestCase):
    """confluent_kafka.schema_registry serializers (fastavro)."""
    backend = "schema_registry"


class TrlRewardFunctionTest(unittest.TestCase):

    def test_should_return_the_rewards_the_scorer_wrote_in_completion_order(self):
        fn = RewardFunction(BOOTSTRAP, REGISTRY, ROLLOUTS, REWARDS, DLQ, timeout=TIMEOUT, backend="legacy")
        try:
            # GRPO: each prompt repeated num_generations times; conversational format for the second prompt
            chat = [{"role": "user", "content": "What is 7 + 5?"}]
            prompts = ["What is 3 + 4? "] * 3 + [chat] * 3
            completions = ["7", "8", "The answer is probably 9.", [{"role": "assistant", "content": "12"}],
                           [{"role": "assistant", "content": "13"}], [{"role": "assistant", "content": "twelve"}]]
            rewards = fn(prompts=prompts, completions=completions, answer=["7"] * 3 + ["12"] * 3)
            self.assertEqual(6, len(rewards))
            self.assertTrue(all(isinstance(r, float) for r in rewards), rewards)
            self.assertEqual("rewardstream", fn.__name__)
            # the same values are on the rewards topic, durable: read them back with a fresh collector
            with RewardCollector(BOOTSTRAP, REGISTRY, REWARDS, DLQ, ROLLOUTS, start="earliest",
                                 backend="legacy") as again:
                on_topic = again.collect(fn.last_rollout_ids, TIMEOUT)
            self.assertTrue(on_topic.complete, on_topic.describe())
            self.assertEqual(rewards, on_topic.values("reward"))
            groups = [on_topic.rewards[i]["group_id"] for i in fn.last_rollout_ids]
            self.assertEqual(2, len(set(groups)), "one group per distinct prompt")
            self.assertEqual(groups[0], groups[2])
            self.assertTrue(all("NO_REFERENCE" in on_topic.rewards[i]["flags"] for i in fn.last_rollout_ids))
        finally:
            fn.close()

    def test_should_raise_with_the_reason_when_a_reward_does_not_come(self):
        fn = RewardFunction(BOOTSTRAP, REGISTRY, ROLLOUTS, REWARDS, DLQ, timeout=TIMEOUT, backend="legacy")
        try:
            with self.assertRaises(RewardTimeout) as ctx:
                fn(prompts=["1 + 1 = "], completions=[""])   # an empty completion is never sent
            self.assertIn("empty completions", str(ctx.exception))
            fn.on_missing = "none"
            self.assertEqual([None], fn(prompts=["1 + 1 = "], completions=[""]))
        finally:
            fn.close()


class ReadmeSnippetTest(unittest.TestCase):
    """The Python snippet of schemas/README.md runs as written (from the repository root)."""

    def test_should_run_the_schemas_readme_snippet(self):
        text = (REPO / "schemas" / "README.md").read_text(encoding="utf-8")
        m = re.search(r"<!-- tested-snippet -->\s*```python\n(.*?)```", text, re.S)
        self.assertIsNotNone(m, "schemas/README.md lost its <!-- tested-snippet --> python block")
        tag = "py-readme-" + uuid.uuid4().hex[:8]
        with RolloutPublisher(BOOTSTRAP, REGISTRY, ROLLOUTS, backend="legacy") as pub:
            collector = RewardCollector(BOOTSTRAP, REGISTRY, REWARDS, DLQ, ROLLOUTS, backend="legacy")
            ids = pub.publish([text_rollout("Say hi: ", "hi %d" % i, rollout_id="%s-%d" % (tag, i)) for i in range(3)])
            self.assertTrue(collector.collect(ids, TIMEOUT).complete)
            collector.close()
        env = dict(os.environ, REWARDS_TOPIC=REWARDS, MAX_REWARDS="3", GROUP_ID=tag)
        out = subprocess.run([sys.executable, "-c", m.group(1)], cwd=str(REPO), env=env, capture_output=True,
                             text=True, timeout=120)
        self.assertEqual(0, out.returncode, out.stderr)
        lines = [l for l in out.stdout.splitlines() if l.strip()]
        self.assertEqual(3, len(lines), out.stdout)
        for line in lines:
            group, rollout_id, reward, last = line.split()
            self.assertTrue(group and rollout_id)
            float(reward), float(last)


if __name__ == "__main__":
    unittest.main()
