"""Confluent-wire-format Avro encoding of rollouts and decoding of rewards, on either of confluent-kafka's APIs.

* ``legacy``: ``confluent_kafka.avro`` (``CachedSchemaRegistryClient`` + ``MessageSerializer``) on the ``avro``
  library: what Debian ships (``python3-confluent-kafka`` 1.7 + ``python3-avro``).
* ``schema_registry``: ``confluent_kafka.schema_registry`` (``SchemaRegistryClient`` + ``AvroSerializer`` /
  ``AvroDeserializer``), which needs ``fastavro``.

``backend="auto"`` picks ``schema_registry`` when fastavro is importable, else ``legacy``.

Rollouts are written with the schema registered last under ``<topic>-value`` (the scorer's and other producers'
text is reused, so no new version appears); when the subject does not exist yet and ``auto_register`` is true, the
project's Rollout.avsc is registered. Rewards are read with schemas/Reward.avsc as the reader schema, so schema
resolution works as on the Java side.
"""

from . import _schemas


def fastavro_available():
    try:
        import fastavro  # noqa: F401
        return True
    except ImportError:
        return False


def make_codec(schema_registry_url, backend="auto", registry_config=None, auto_register=True, schemas_dir=None):
    """A codec for the registry at ``schema_registry_url`` (e.g. ``http://127.0.0.1:8081/apis/ccompat/v7``)."""
    if backend == "auto":
        backend = "schema_registry" if fastavro_available() else "legacy"
    if backend == "legacy":
        return LegacyCodec(schema_registry_url, registry_config, auto_register, schemas_dir)
    if backend == "schema_registry":
        if not fastavro_available():
            raise ImportError("backend 'schema_registry' needs fastavro (not packaged by Debian bookworm); "
                              "use backend='legacy' with python3-confluent-kafka + python3-avro")
        return SchemaRegistryCodec(schema_registry_url, registry_config, auto_register, schemas_dir)
    raise ValueError("backend must be auto, legacy or schema_registry, got %r" % (backend,))


class LegacyCodec:
    """``confluent_kafka.avro`` + the ``avro`` library."""

    name = "legacy"

    def __init__(self, url, registry_config, auto_register, schemas_dir):
        import avro.schema
        from confluent_kafka.avro import CachedSchemaRegistryClient
        from confluent_kafka.avro.serializer.message_serializer import MessageSerializer
        conf = dict(registry_config or {})
        conf["url"] = url
        self._registry = CachedSchemaRegistryClient(conf)
        self._parse = avro.schema.parse
        self._auto_register = auto_register
        self._rollout_text = _schemas.schema_text("Rollout", schemas_dir)
        self._rewards = MessageSerializer(self._registry, reader_value_schema=avro.schema.parse(
            _schemas.schema_text("Reward", schemas_dir)))
        self._rollouts_reader = MessageSerializer(self._registry, reader_value_schema=avro.schema.parse(
            self._rollout_text))
        self._writer_ids = {}

    def _writer_id(self, topic):
        subject = topic + "-value"
        if subject not in self._writer_ids:
            schema_id, _schema, _version = self._registry.get_latest_schema(subject)
            if schema_id is None:
                if not self._auto_register:
                    raise LookupError("subject %s is not registered and auto_register is off" % subject)
                schema_id = self._registry.register(subject, self._parse(_schemas.compact(self._rollout_text)))
            self._writer_ids[subject] = schema_id
        return self._writer_ids[subject]

    def encode_rollout(self, topic, rollout):
        return self._rollouts_reader.encode_record_with_schema_id(self._writer_id(topic), rollout)

    def decode_reward(self, topic, value):
        return self._rewards.decode_message(value)

    def decode_rollout(self, topic, value):
        return self._rollouts_reader.decode_message(value)


class SchemaRegistryCodec:
    """``confluent_kafka.schema_registry`` serializers (fastavro)."""

    name = "schema_registry"

    def __init__(self, url, registry_config, auto_register, schemas_dir):
        from confluent_kafka.schema_registry import SchemaRegistryClient, Schema
        from confluent_kafka.schema_registry.avro import AvroDeserializer
        from confluent_kafka.schema_registry.error import SchemaRegistryError
        conf = dict(registry_config or {})
        conf["url"] = url
        self._registry = SchemaRegistryClient(conf)
        self._Schema = Schema
        self._Error = SchemaRegistryError
        self._auto_register = auto_register
        self._rollout_text = _schemas.schema_text("Rollout", schemas_dir)
        self._rewards = AvroDeserializer(self._registry, _schemas.schema_text("Reward", schemas_dir))
        self._rollouts_reader = AvroDeserializer(self._registry, self._rollout_text)
        self._serializers = {}

    def _serializer(self, topic):
        from confluent_kafka.schema_registry.avro import AvroSerializer
        subject = topic + "-value"
        if subject not in self._serializers:
            try:
                text = self._registry.get_latest_version(subject).schema.schema_str
            except self._Error as e:
                if e.http_status_code != 404 or not self._auto_register:
                    raise
                text = _schemas.compact(self._rollout_text)
                self._registry.register_schema(subject, self._Schema(text, "AVRO"))
            # The registry's own text: an exact lookup match (Apicurio does not normalize schema text).
            self._serializers[subject] = AvroSerializer(self._registry, text, conf={"auto.register.schemas": False})
        return self._serializers[subject]

    def _ctx(self, topic):
        from confluent_kafka.serialization import SerializationContext, MessageField
        return SerializationContext(topic, MessageField.VALUE)

    def encode_rollout(self, topic, rollout):
        return self._serializer(topic)(rollout, self._ctx(topic))

    def decode_reward(self, topic, value):
        return self._rewards(value, self._ctx(topic))

    def decode_rollout(self, topic, value):
        return self._rollouts_reader(value, self._ctx(topic))
