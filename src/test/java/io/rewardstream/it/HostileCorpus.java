package io.rewardstream.it;

import io.rewardstream.avro.Rollout;
import io.rewardstream.schema.AvroSerializer;
import io.rewardstream.schema.SchemaRegistryClient;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Test code: a deterministic corpus of hostile rollout records for one topic, each with the dead-letter reasons it may
 * legitimately get ({@code rewardstream.dlq.reason}), plus the records that look odd but are VALID and must be rewarded.
 *
 * <p>Wire level (the deserializer, WireFormatException reasons): random bytes, wrong magic byte, too short, empty value,
 * unknown schema id, truncated Avro, trailing bytes, an array block claiming 2^30 elements in a tiny body, invalid UTF-8
 * inside a string, a registered schema of another record type. Content level (RolloutValidator reasons): oversized
 * response array, negative token id, out-of-vocabulary token id, NaN policy log-prob, +Inf reference log-prob, policy
 * log-prob length mismatch, reference length mismatch, empty response, empty prompt, blank group id, blank rollout id,
 * absurd group size, negative group size, huge metadata map.
 *
 * <p>Valid: a record written with a FUTURE v2 writer schema (Rollout plus a new field {@code sampling_temperature} with
 * a default): readers resolve writer v2 to their v1 reader schema and drop the unknown field (Avro schema resolution;
 * forward compatibility of the contract), so it is rewarded like any other rollout.
 *
 * <p>Keys are {@code hostile-<kind>}, and every content-level rollout has {@code rollout_id = key}, so a test can match
 * dead letters and rewards to entries.
 */
public final class HostileCorpus {
    /** Name of the extra field of the v2 writer schema. */
    public static final String V2_FIELD = "sampling_temperature";

    /**
     * @param kind    short name of the hostile kind
     * @param key     record key (UTF-8), unique per entry; also the rollout_id where a rollout could be decoded
     * @param value   record value bytes
     * @param reasons accepted dead-letter reasons; empty = valid, must be rewarded
     */
    public record Entry(String kind, String key, byte[] value, Set<String> reasons) {
        public boolean valid() {
            return reasons.isEmpty();
        }
    }

    private HostileCorpus() {
    }

    /**
     * Builds the corpus for {@code topic}.
     *
     * @param client   registry client (schemas are registered: the Rollout v1 and v2 writer schemas under
     *                 {@code <topic>-value}, a foreign record under {@code <topic>-foreign-value})
     * @param gen      source of valid rollouts to break
     * @param vocab    the model's vocabulary size (out-of-vocabulary = vocab)
     * @param maxResponseTokens the scorer's validation.max.response.tokens (oversized = one more)
     */
    public static List<Entry> generate(SchemaRegistryClient client, String topic, RolloutGenerator gen, int vocab,
                                       int maxResponseTokens) {
        List<Entry> out = new ArrayList<>();
        Random rnd = new Random(1234);
        AvroSerializer<Rollout> ser = new AvroSerializer<>(client);
        ser.configure(Map.of("schema.registry.url", "http://unused.invalid", "auto.register.schemas", true), false);

        // ---- wire level -------------------------------------------------------------------------------------
        Rollout goodRollout = base(gen, "hostile-wire-template");
        byte[] good = ser.serialize(topic, goodRollout);

        byte[] random = new byte[113];
        rnd.nextBytes(random);
        random[0] = (byte) 0xA7;
        out.add(new Entry("random-bytes", "hostile-random-bytes", random, Set.of("BAD_MAGIC_BYTE")));

        byte[] magic = good.clone();
        magic[0] = 2;
        out.add(new Entry("wrong-magic-byte", "hostile-wrong-magic-byte", magic, Set.of("BAD_MAGIC_BYTE")));

        out.add(new Entry("too-short", "hostile-too-short", new byte[]{0, 0, 1}, Set.of("TOO_SHORT")));
        out.add(new Entry("empty-value", "hostile-empty-value", new byte[0], Set.of("EMPTY")));

        byte[] unknown = good.clone();
        ByteBuffer.wrap(unknown).putInt(1, 1_987_654_321);
        out.add(new Entry("unknown-schema-id", "hostile-unknown-schema-id", unknown, Set.of("UNKNOWN_SCHEMA_ID")));

        out.add(new Entry("truncated-avro", "hostile-truncated-avro", Arrays.copyOf(good, good.length - 9),
                Set.of("TRUNCATED_BODY", "MALFORMED_BODY")));

        byte[] trailing = Arrays.copyOf(good, good.length + 3);
        out.add(new Entry("trailing-bytes", "hostile-trailing-bytes", trailing, Set.of("TRAILING_BYTES")));

        out.add(new Entry("array-count-bomb", "hostile-array-count-bomb", arrayCountBomb(good),
                Set.of("TRUNCATED_BODY", "MALFORMED_BODY")));

        Rollout textual = base(gen, "hostile-invalid-utf8");
        textual.setPromptText("@@@@@@@@");
        byte[] utf8 = ser.serialize(topic, textual);
        replace(utf8, "@@@@@@@@".getBytes(StandardCharsets.US_ASCII),
                new byte[]{(byte) 0xC3, 0x28, (byte) 0xA0, (byte) 0xA1, (byte) 0xE2, 0x28, (byte) 0xA1, (byte) 0xFF});
        out.add(new Entry("invalid-utf8-text", "hostile-invalid-utf8", utf8, Set.of("MALFORMED_BODY")));

        Schema foreign = SchemaBuilder.record("Foreign").namespace("io.rewardstream.hostile").fields()
                .requiredString("x").endRecord();
        int foreignId = client.register(topic + "-foreign-value", foreign);
        out.add(new Entry("foreign-record-schema", "hostile-foreign-record-schema",
                frame(foreignId, new byte[]{2, 'h', 'i'}), Set.of("SCHEMA_MISMATCH")));

        // ---- content level ----------------------------------------------------------------------------------
        Rollout oversized = base(gen, "hostile-oversized-array");
        List<Integer> ids = new ArrayList<>(Collections.nCopies(maxResponseTokens + 1, 7));
        List<Float> lps = new ArrayList<>(Collections.nCopies(maxResponseTokens + 1, -1f));
        oversized.setResponseTokenIds(ids);
        oversized.setPolicyLogprobs(lps);
        oversized.setReferenceLogprobs(null);
        out.add(content(ser, topic, "oversized-array", oversized, "OVERSIZED"));

        Rollout negative = base(gen, "hostile-negative-token");
        negative.setPromptTokenIds(set(negative.getPromptTokenIds(), 0, -5));
        out.add(content(ser, topic, "negative-token", negative, "TOKEN_OUT_OF_VOCAB"));

        Rollout oov = base(gen, "hostile-out-of-vocab");
        oov.setResponseTokenIds(set(oov.getResponseTokenIds(), 0, vocab));
        out.add(content(ser, topic, "out-of-vocab", oov, "TOKEN_OUT_OF_VOCAB"));

        Rollout nan = base(gen, "hostile-nan-logprob");
        nan.setPolicyLogprobs(set(nan.getPolicyLogprobs(), 0, Float.NaN));
        out.add(content(ser, topic, "nan-logprob", nan, "NON_FINITE_LOGPROB"));

        Rollout inf = base(gen, "hostile-inf-reference");
        inf.setReferenceLogprobs(new ArrayList<>(Collections.nCopies(inf.getResponseTokenIds().size(), -0.5f)));
        inf.setReferenceLogprobs(set(inf.getReferenceLogprobs(), 0, Float.POSITIVE_INFINITY));
        out.add(content(ser, topic, "inf-reference-logprob", inf, "NON_FINITE_LOGPROB"));

        Rollout mismatch = base(gen, "hostile-length-mismatch");
        mismatch.setPolicyLogprobs(mismatch.getPolicyLogprobs().subList(0, mismatch.getPolicyLogprobs().size() - 1));
        out.add(content(ser, topic, "length-mismatch", mismatch, "LOGPROB_LENGTH_MISMATCH"));

        Rollout refMismatch = base(gen, "hostile-reference-mismatch");
        refMismatch.setReferenceLogprobs(List.of(-1f));
        refMismatch.setResponseTokenIds(List.of(9, 10, 11));
        refMismatch.setPolicyLogprobs(List.of(-1f, -1f, -1f));
        out.add(content(ser, topic, "reference-length-mismatch", refMismatch, "REFERENCE_LENGTH_MISMATCH"));

        Rollout emptyResponse = base(gen, "hostile-empty-response");
        emptyResponse.setResponseTokenIds(List.of());
        emptyResponse.setPolicyLogprobs(List.of());
        emptyResponse.setReferenceLogprobs(null);
        out.add(content(ser, topic, "empty-response", emptyResponse, "EMPTY_RESPONSE"));

        Rollout emptyPrompt = base(gen, "hostile-empty-prompt");
        emptyPrompt.setPromptTokenIds(List.of());
        out.add(content(ser, topic, "empty-prompt", emptyPrompt, "EMPTY_PROMPT"));

        Rollout noGroup = base(gen, "hostile-missing-group");
        noGroup.setGroupId(" ");
        out.add(content(ser, topic, "missing-group-id", noGroup, "MISSING_FIELD"));

        Rollout noId = base(gen, "hostile-blank-rollout-id");
        noId.setRolloutId("");
        out.add(content(ser, topic, "blank-rollout-id", noId, "MISSING_FIELD"));

        // longer than DataOutputStream.writeUTF takes (65,535 bytes), as the scorer's stores keep ids: accepted at
        // arrival, such a rollout used to fail its flush after the rewards were sent, again after every restart
        Rollout longId = base(gen, "hostile-long-rollout-id");
        longId.setRolloutId("x".repeat(70_000));
        out.add(content(ser, topic, "long-rollout-id", longId, "OVERSIZED"));

        Rollout absurd = base(gen, "hostile-absurd-group-size");
        absurd.setGroupSize(50_000_000);
        out.add(content(ser, topic, "absurd-group-size", absurd, "BAD_GROUP_SIZE"));

        Rollout negGroup = base(gen, "hostile-negative-group-size");
        negGroup.setGroupSize(-3);
        out.add(content(ser, topic, "negative-group-size", negGroup, "BAD_GROUP_SIZE"));

        Rollout meta = base(gen, "hostile-huge-metadata");
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < 5_000; i++) {
            m.put("k" + i, "v" + i);
        }
        meta.setMetadata(m);
        out.add(content(ser, topic, "huge-metadata-map", meta, "OVERSIZED"));

        // ---- valid despite looking odd ------------------------------------------------------------------------
        Rollout future = base(gen, "hostile-future-schema-v2");
        out.add(new Entry("future-schema-v2", "hostile-future-schema-v2", futureV2(client, topic, ser, future),
                Set.of()));
        return out;
    }

    /** Number of entries that must be dead-lettered. */
    public static long bad(List<Entry> corpus) {
        return corpus.stream().filter(e -> !e.valid()).count();
    }

    /**
     * The rollout written with a v2 writer schema: the Rollout schema plus {@value #V2_FIELD} (double, default 1.0),
     * registered under {@code <topic>-value} (BACKWARD-compatible: a field with a default added). Avro's binary
     * encoding writes fields in order, so the v2 body is the v1 body followed by the new double.
     */
    static byte[] futureV2(SchemaRegistryClient client, String topic, AvroSerializer<Rollout> ser, Rollout r) {
        Schema v1 = io.rewardstream.schema.AvroSchemas.withoutJavaProperties(Rollout.getClassSchema());
        List<Schema.Field> fields = new ArrayList<>();
        for (Schema.Field f : v1.getFields()) {
            fields.add(new Schema.Field(f, f.schema()));
        }
        fields.add(new Schema.Field(V2_FIELD, Schema.create(Schema.Type.DOUBLE), "temperature the policy sampled at",
                1.0));
        Schema v2 = Schema.createRecord(v1.getName(), v1.getDoc(), v1.getNamespace(), false, fields);
        int v2Id = client.register(topic + "-value", v2);
        byte[] v1Frame = ser.serialize(topic, r);
        ByteBuffer b = ByteBuffer.allocate(v1Frame.length + 8);
        b.put((byte) 0).putInt(v2Id).put(v1Frame, 5, v1Frame.length - 5);
        b.order(ByteOrder.LITTLE_ENDIAN).putDouble(0.7); // Avro doubles are little-endian
        return b.array();
    }

    /** A valid frame header, then rollout_id, group_id, null group_size, policy_version and an array claiming 2^30 ints. */
    private static byte[] arrayCountBomb(byte[] good) {
        try {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(body, null);
            e.writeString("hostile-array-count-bomb");
            e.writeString("hostile-array-count-bomb");
            e.writeIndex(0);
            e.writeString("p1");
            e.writeArrayStart();
            e.setItemCount(1L << 30);
            e.startItem();
            e.writeInt(5);
            e.flush();
            byte[] b = body.toByteArray();
            byte[] out = new byte[5 + b.length];
            System.arraycopy(good, 0, out, 0, 5);
            System.arraycopy(b, 0, out, 5, b.length);
            return out;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }

    private static byte[] frame(int id, byte[] body) {
        return ByteBuffer.allocate(5 + body.length).put((byte) 0).putInt(id).put(body).array();
    }

    private static void replace(byte[] haystack, byte[] needle, byte[] with) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            System.arraycopy(with, 0, haystack, i, with.length);
            return;
        }
        throw new IllegalStateException("marker not found");
    }

    private static <T> List<T> set(List<T> l, int i, T v) {
        List<T> c = new ArrayList<>(l);
        c.set(i, v);
        return c;
    }

    /** A valid rollout (two or more response tokens, one-member group) with rollout_id and group_id = key. */
    static Rollout base(RolloutGenerator gen, String key) {
        Rollout r;
        do {
            r = gen.group(1).get(0);
        } while (r.getResponseTokenIds().size() < 2);
        r.setRolloutId(key);
        r.setGroupId(key);
        r.setGroupSize(1);
        return r;
    }

    private static Entry content(AvroSerializer<Rollout> ser, String topic, String kind, Rollout r, String reason) {
        return new Entry(kind, "hostile-" + kind, ser.serialize(topic, r), Set.of(reason));
    }
}
