package io.rewardstream.topology;

import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The value of store {@code rollout-buffer}: a rollout waiting for its batch plus what the processor needs to
 * rebuild its index after a restart (arrival time, encoded length) and to dead-letter it later (source coordinates,
 * original key and headers). Binary, versioned; immutable.
 *
 * @param arrivalMs    wall-clock time the rollout entered the buffer
 * @param tokens       encoded length with the model current at arrival (for the token trigger)
 * @param sourceTopic  source topic, or null
 * @param partition    source partition, or -1
 * @param offset       source offset, or -1
 * @param key          original key (group_id), UTF-8 (may be null)
 * @param headers      original headers
 * @param value        the rollout: the ORIGINAL record value as produced (Confluent wire format; format 2), or, in
 *                     entries written by format 1, the Avro single-object encoding ({@code Rollout.toByteBuffer})
 * @param original     whether {@code value} is the original record value (format 2)
 */
record BufferedRollout(long arrivalMs, int tokens, String sourceTopic, int partition, long offset, String key,
                       Headers headers, byte[] value, boolean original) {

    /** 1: re-serialized single-object Avro; 2: the producer's original bytes. Both are read. */
    private static final byte FORMAT_VERSION = 2;

    /** Always written in format 2 (original bytes). Sized up front: one copy of the value, no stream (hot path). */
    byte[] toBytes() {
        if (!original) {
            throw new IllegalStateException("format 1 entries are only read, never written");
        }
        byte[] topic = utf8(sourceTopic);
        byte[] k = utf8(key);
        Header[] hs = headers == null ? new Header[0] : headers.toArray();
        byte[][] headerKeys = new byte[hs.length][];
        int size = 1 + 8 + 4 + sized(topic) + 4 + 8 + sized(k) + 4 + sized(value);
        for (int i = 0; i < hs.length; i++) {
            headerKeys[i] = utf8(hs[i].key());
            size += sized(headerKeys[i]) + sized(hs[i].value());
        }
        ByteBuffer out = ByteBuffer.allocate(size);   // big-endian, as DataOutputStream (read by fromBytes)
        out.put(FORMAT_VERSION).putLong(arrivalMs).putInt(tokens);
        put(out, topic);
        out.putInt(partition).putLong(offset);
        put(out, k);
        out.putInt(hs.length);
        for (int i = 0; i < hs.length; i++) {
            put(out, headerKeys[i]);
            put(out, hs[i].value());
        }
        put(out, value);
        return out.array();
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static int sized(byte[] b) {
        return 4 + (b == null ? 0 : b.length);
    }

    private static void put(ByteBuffer out, byte[] b) {
        if (b == null) {
            out.putInt(-1);
        } else {
            out.putInt(b.length).put(b);
        }
    }

    /** @throws IllegalArgumentException when the bytes are not a buffered rollout of a known format */
    static BufferedRollout fromBytes(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            byte v = in.readByte();
            if (v != 1 && v != FORMAT_VERSION) {
                throw new IllegalArgumentException("rollout-buffer: unknown format version " + v);
            }
            long arrival = in.readLong();
            int tokens = in.readInt();
            String topic = readString(in);
            int partition = in.readInt();
            long offset = in.readLong();
            String key = readString(in);
            int n = in.readInt();
            RecordHeaders headers = new RecordHeaders();
            for (int i = 0; i < n; i++) {
                headers.add(readString(in), readBytes(in));
            }
            byte[] avro = readBytes(in);
            if (avro == null) {
                throw new IllegalArgumentException("rollout-buffer: entry has no rollout bytes");
            }
            return new BufferedRollout(arrival, tokens, topic, partition, offset, key, headers, avro, v == FORMAT_VERSION);
        } catch (IOException e) {
            throw new IllegalArgumentException("rollout-buffer: corrupt entry: " + e.getMessage(), e);
        }
    }

    private static String readString(DataInputStream in) throws IOException {
        byte[] b = readBytes(in);
        return b == null ? null : new String(b, java.nio.charset.StandardCharsets.UTF_8);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int n = in.readInt();
        if (n < -1) {
            throw new IOException("negative length " + n);
        }
        if (n == -1) {
            return null;
        }
        byte[] b = new byte[n];
        in.readFully(b);
        return b;
    }
}
