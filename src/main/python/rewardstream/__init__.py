"""rewardstream's Python client: publish rollouts, collect their rewards, and a TRL-shaped reward function.

Runs on Debian's ``python3-confluent-kafka`` (1.7) + ``python3-avro`` (the legacy ``confluent_kafka.avro`` API), or on
``confluent_kafka.schema_registry`` when ``fastavro`` is importable. See README.md ("Python trainers").
"""

from ._schemas import byte_token_ids, make_rollout, text_rollout
from .client import CollectResult, DeadLetter, DeliveryError, RewardCollector, RolloutPublisher
from .codec import fastavro_available, make_codec
from .trl import RewardFunction, RewardTimeout

__all__ = ["RolloutPublisher", "RewardCollector", "CollectResult", "DeadLetter", "DeliveryError", "RewardFunction",
           "RewardTimeout", "make_rollout", "text_rollout", "byte_token_ids", "make_codec", "fastavro_available"]
