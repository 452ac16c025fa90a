"""Publishing rollouts to rewardstream and collecting their rewards (Confluent's Python client)."""

import time
import uuid
from collections import OrderedDict

from confluent_kafka import Consumer, Producer, TopicPartition, KafkaException

from .codec import make_codec

DLQ_REASON = "rewardstream.dlq.reason"
DLQ_DETAIL = "rewardstream.dlq.detail"


class DeliveryError(Exception):
    """Some rollouts could not be written to Kafka."""


class RolloutPublisher:
    """Publishes rollouts (dicts, see :func:`rewardstream.make_rollout`) to the rollouts topic.

    The producer is idempotent (``enable.idempotence=true``, hence ``acks=all``): a retried send never duplicates a
    rollout. Records are keyed by ``group_id`` so every sample of a prompt lands in one partition. Not thread-safe;
    use one per thread or process. Close it (or use ``with``) to flush.
    """

    def __init__(self, bootstrap_servers, schema_registry_url, topic="rollouts", producer_config=None,
                 backend="auto", registry_config=None, auto_register=True, schemas_dir=None):
        conf = {"bootstrap.servers": bootstrap_servers, "linger.ms": 5}
        conf.update(producer_config or {})
        conf["enable.idempotence"] = True
        self.topic = topic
        self.codec = make_codec(schema_registry_url, backend, registry_config, auto_register, schemas_dir)
        self._producer = Producer(conf)
        self._errors = []

    def _on_delivery(self, err, msg):
        if err is not None:
            self._errors.append("%s: %s" % (msg.key().decode("utf-8", "replace") if msg.key() else None, err))

    def publish(self, rollouts, flush=True, timeout=30.0):
        """Sends the rollouts; with ``flush`` waits until the broker has them all.

        :returns: their rollout ids, in order
        :raises DeliveryError: when a rollout could not be delivered (after librdkafka's retries)
        """
        ids = []
        for r in rollouts:
            value = self.codec.encode_rollout(self.topic, r)
            while True:
                try:
                    self._producer.produce(self.topic, key=r["group_id"].encode("utf-8"), value=value,
                                           on_delivery=self._on_delivery)
                    break
                except BufferError:
                    self._producer.poll(0.1)   # local queue full: let deliveries drain
            self._producer.poll(0)
            ids.append(r["rollout_id"])
        if flush:
            self.flush(timeout)
        return ids

    def flush(self, timeout=30.0):
        left = self._producer.flush(timeout)
        if left:
            raise DeliveryError("%d rollouts still undelivered after %.0f s" % (left, timeout))
        if self._errors:
            errors, self._errors = self._errors, []
            raise DeliveryError("%d rollouts not delivered: %s" % (len(errors), "; ".join(errors[:5])))

    def close(self, timeout=30.0):
        self.flush(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class DeadLetter:
    """A rollout the scorer rejected: the ``rewardstream.dlq.reason`` header (e.g. LOGPROB_LENGTH_MISMATCH) and
    ``rewardstream.dlq.detail``."""

    def __init__(self, rollout_id, reason, detail, rollout):
        self.rollout_id = rollout_id
        self.reason = reason
        self.detail = detail
        self.rollout = rollout

    def __repr__(self):
        return "DeadLetter(%s, %s: %s)" % (self.rollout_id, self.reason, self.detail)


class CollectResult:
    """What :meth:`RewardCollector.collect` found for a set of rollout ids.

    ``rewards``: rollout id -> Reward dict (schemas/Reward.avsc); ``dead_lettered``: rollout id -> :class:`DeadLetter`;
    ``missing``: ids with neither before the timeout.
    """

    def __init__(self, ids, rewards, dead_lettered):
        self.ids = list(ids)
        self.rewards = {i: rewards[i] for i in self.ids if i in rewards}
        self.dead_lettered = {i: dead_lettered[i] for i in self.ids if i in dead_lettered and i not in rewards}
        self.missing = [i for i in self.ids if i not in self.rewards and i not in self.dead_lettered]

    @property
    def complete(self):
        """Every id has a reward."""
        return len(self.rewards) == len(self.ids)

    def values(self, field="reward"):
        """``field`` of each reward in id order (None where there is none)."""
        return [self.rewards[i][field] if i in self.rewards else None for i in self.ids]

    def describe(self):
        parts = ["%d of %d rewarded" % (len(self.rewards), len(self.ids))]
        if self.dead_lettered:
            parts.append("dead-lettered: " + ", ".join("%s (%s: %s)" % (d.rollout_id, d.reason, d.detail)
                                                       for d in list(self.dead_lettered.values())[:5]))
        if self.missing:
            parts.append("missing: " + ", ".join(self.missing[:5]) + (" ..." if len(self.missing) > 5 else ""))
        return "; ".join(parts)


class RewardCollector:
    """Reads the rewards topic (``isolation.level=read_committed``: the scorer writes exactly once) and the dead-letter
    topic, and joins them to rollouts by ``rollout_id``.

    It reads every partition from its end at construction time (``start="latest"``, create the collector before
    publishing) or from the beginning (``start="earliest"``, to collect rewards written earlier), without a consumer
    group. Rewards it has seen are kept (up to ``max_buffered``) so several :meth:`collect` calls can share one
    collector. Not thread-safe.
    """

    def __init__(self, bootstrap_servers, schema_registry_url, rewards_topic="rewards",
                 dead_letter_topic="rewardstream-dead-letters", rollouts_topic="rollouts", start="latest",
                 consumer_config=None, backend="auto", registry_config=None, schemas_dir=None, max_buffered=1000000):
        if start not in ("latest", "earliest"):
            raise ValueError("start must be latest or earliest, got %r" % (start,))
        conf = {"bootstrap.servers": bootstrap_servers, "group.id": "rewardstream-collector-" + str(uuid.uuid4()),
                "enable.auto.commit": False, "fetch.wait.max.ms": 50}
        conf.update(consumer_config or {})
        conf["isolation.level"] = "read_committed"
        self.rewards_topic = rewards_topic
        self.dead_letter_topic = dead_letter_topic
        self.rollouts_topic = rollouts_topic
        self.codec = make_codec(schema_registry_url, backend, registry_config, False, schemas_dir)
        self._consumer = Consumer(conf)
        self._rewards = OrderedDict()
        self._dead = OrderedDict()
        self._max = max_buffered
        self._assign(start)

    def _assign(self, start):
        parts = []
        for topic in (self.rewards_topic, self.dead_letter_topic):
            md = self._consumer.list_topics(topic, timeout=30).topics.get(topic)
            if md is None or md.error is not None or not md.partitions:
                raise KafkaException("topic %s does not exist (%s)" % (topic, md.error if md else "no metadata"))
            for p in md.partitions:
                low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=30)
                parts.append(TopicPartition(topic, p, low if start == "earliest" else high))
        self._consumer.assign(parts)

    def poll(self, timeout=0.2):
        """Reads what is there (at most ``timeout`` seconds of waiting); returns the number of records handled."""
        n = 0
        for msg in self._consumer.consume(num_messages=500, timeout=timeout):
            if msg.error():
                continue
            n += 1
            if msg.topic() == self.rewards_topic:
                r = self.codec.decode_reward(msg.topic(), msg.value())
                self._keep(self._rewards, r["rollout_id"], r)
            else:
                self._on_dead_letter(msg)
        return n

    def _on_dead_letter(self, msg):
        try:
            rollout = self.codec.decode_rollout(self.rollouts_topic, msg.value())
        except Exception:   # noqa: BLE001 - not a decodable rollout: not one we could be waiting for
            return
        headers = dict((k, v.decode("utf-8", "replace") if v is not None else None) for k, v in (msg.headers() or []))
        rid = rollout["rollout_id"]
        self._keep(self._dead, rid, DeadLetter(rid, headers.get(DLQ_REASON), headers.get(DLQ_DETAIL), rollout))

    def _keep(self, d, key, value):
        d[key] = value
        d.move_to_end(key)
        while len(d) > self._max:
            d.popitem(last=False)

    def collect(self, rollout_ids, timeout=60.0):
        """Waits until every id has a reward or a dead letter, or ``timeout`` seconds pass.

        :returns: a :class:`CollectResult` (check ``complete``, ``dead_lettered`` and ``missing``)
        """
        ids = list(rollout_ids)
        deadline = time.monotonic() + timeout
        while True:
            open_ids = [i for i in ids if i not in self._rewards and i not in self._dead]
            left = deadline - time.monotonic()
            if not open_ids or left <= 0:
                return CollectResult(ids, self._rewards, self._dead)
            self.poll(min(0.2, max(0.01, left)))

    def close(self):
        self._consumer.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
