"""Exports the small SavedModels under src/test/resources/models/python/ the way users export reward models from
Python, to test `rewardstream model package` and the scorer on models made outside this project.

Not a build or CI dependency: run by hand when the recipes change, then commit the output (a few KB each).
Needs TensorFlow and Keras 3 (checked with tensorflow-cpu 2.21, keras 3.15):

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu keras
    /tmp/tfenv/bin/python src/test/python/export_models.py src/test/resources/models/python

Every model follows scoring/MODEL_CONTRACT.md: signature `serving_default`, inputs `input_ids` and
`attention_mask` (int32 [B, T], right-padded), output `reward` (float32 [B]); the score is a masked mean of
token embeddings projected to a scalar, so it does not depend on padding. Three recipes:

- keras-export:    a Keras 3 functional model exported with keras.export.ExportArchive        (works)
- tf-module:       a tf.Module holding tf.Variables, tf.saved_model.save with signatures          (works)
- keras-in-module: Keras 3 layers held by a tf.Module, tf.saved_model.save                      (loads, but the
                   first call fails with "Could not find variable dense/kernel": tensorflow#72963)
"""
import json
import os
import shutil
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

VOCAB = 260  # the built-in byte tokenizer's vocabulary (tokenizer "bytes")
DIM = 8
SPEC = [tf.TensorSpec([None, None], tf.int32, name="input_ids"),
        tf.TensorSpec([None, None], tf.int32, name="attention_mask")]


def weights(seed):
    rng = np.random.default_rng(seed)
    emb = rng.normal(0, 1, (VOCAB, DIM)).astype(np.float32)
    w = rng.normal(0, 1, (DIM, 1)).astype(np.float32)
    b = np.array([0.25], dtype=np.float32)
    return emb, w, b


def masked_mean(x, mask):
    m = tf.cast(mask, tf.float32)[:, :, None]
    return tf.reduce_sum(x * m, axis=1) / tf.maximum(tf.reduce_sum(m, axis=1), 1.0)


def keras_export(out):
    emb, w, b = weights(1)
    ids = keras.Input((None,), dtype="int32", name="input_ids")
    mask = keras.Input((None,), dtype="int32", name="attention_mask")
    x = keras.layers.Embedding(VOCAB, DIM, name="embedding")(ids)
    m = keras.ops.expand_dims(keras.ops.cast(mask, "float32"), -1)
    pooled = keras.ops.sum(x * m, axis=1) / keras.ops.maximum(keras.ops.sum(m, axis=1), 1.0)
    r = keras.layers.Dense(1, name="head")(pooled)
    model = keras.Model([ids, mask], keras.ops.squeeze(r, -1))
    model.get_layer("embedding").set_weights([emb])
    model.get_layer("head").set_weights([w, b])
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serving_default", lambda input_ids, attention_mask:
                         {"reward": model([input_ids, attention_mask])}, input_signature=SPEC)
    archive.write_out(out)


class ScalarReward(tf.Module):
    def __init__(self):
        super().__init__()
        emb, w, b = weights(2)
        self.embedding = tf.Variable(emb, name="embedding")
        self.w = tf.Variable(w, name="w")
        self.b = tf.Variable(b, name="b")

    @tf.function(input_signature=SPEC)
    def serve(self, input_ids, attention_mask):
        x = tf.gather(self.embedding, input_ids)
        r = tf.matmul(masked_mean(x, attention_mask), self.w) + self.b
        return {"reward": tf.squeeze(r, -1)}


class KerasLayersInModule(tf.Module):
    def __init__(self):
        super().__init__()
        emb, w, b = weights(3)
        self.embedding = keras.layers.Embedding(VOCAB, DIM)
        self.dense = keras.layers.Dense(1)
        self.embedding.build((None, None))
        self.dense.build((None, DIM))
        self.embedding.set_weights([emb])
        self.dense.set_weights([w, b])

    @tf.function(input_signature=SPEC)
    def serve(self, input_ids, attention_mask):
        r = self.dense(masked_mean(self.embedding(input_ids), attention_mask))
        return {"reward": tf.squeeze(r, -1)}


# Right-padded probe batch (pad id 0); expected-scores.json holds what Python's reloaded signature returns for it.
PROBE_IDS = [[5, 77, 104, 120, 3, 9, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8], [259, 0, 0, 0, 0, 0, 0, 0]]
PROBE_MASK = [[1, 1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1, 1], [1, 0, 0, 0, 0, 0, 0, 0]]


def probe(out):
    sig = tf.saved_model.load(out).signatures["serving_default"]
    r = sig(input_ids=tf.constant(PROBE_IDS, tf.int32), attention_mask=tf.constant(PROBE_MASK, tf.int32))
    return [float(v) for v in r["reward"].numpy()]


def main(root):
    expected = {"input_ids": PROBE_IDS, "attention_mask": PROBE_MASK, "reward": {}}
    for name, export in [("keras-export", keras_export),
                         ("tf-module", lambda d: (lambda m: tf.saved_model.save(
                             m, d, signatures={"serving_default": m.serve}))(ScalarReward())),
                         ("keras-in-module", lambda d: (lambda m: tf.saved_model.save(
                             m, d, signatures={"serving_default": m.serve}))(KerasLayersInModule()))]:
        out = os.path.join(root, name)
        shutil.rmtree(out, ignore_errors=True)
        export(out)
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(out) for f in fs)
        expected["reward"][name] = probe(out)
        print(f"{name}: {out} ({size // 1024} KB), probe rewards {expected['reward'][name]}")
    with open(os.path.join(root, "expected-scores.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "src/test/resources/models/python")
