package io.rewardstream.schema;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The plain JSON shape of an Avro record, as {@code produce}/{@code consume} read and write it: an object with the
 * schema's field names; a nullable field is {@code null} or the value itself (no Avro union wrapper); enums are their
 * symbol; {@code timestamp-millis} fields are epoch milliseconds (an ISO-8601 string is also read); NaN and infinite
 * floats are the strings {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}; bytes are Base64. When reading,
 * a missing field takes the schema's default, a required {@code created_at} missing takes the current time, and an
 * unknown field is an error (a typo must not silently become a default). Stateless; thread-safe.
 */
public final class AvroJson {
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private AvroJson() {
    }

    /**
     * A record of {@code schema} from its JSON object.
     *
     * @throws IllegalArgumentException naming the field path when the JSON does not fit the schema
     */
    public static GenericRecord fromJson(JsonNode json, Schema schema) {
        Object r = read(json, schema, "");
        return (GenericRecord) r;
    }

    /** The JSON object of a record (generic or generated). */
    public static ObjectNode toJson(IndexedRecord record) {
        return (ObjectNode) write(record, record.getSchema());
    }

    private static Object read(JsonNode n, Schema s, String path) {
        String at = path.isEmpty() ? "record" : path;
        switch (s.getType()) {
            case RECORD -> {
                if (n == null || !n.isObject()) {
                    throw bad(at, "expected a JSON object", n);
                }
                GenericData.Record rec = new GenericData.Record(s);
                for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
                    String name = it.next();
                    if (s.getField(name) == null) {
                        List<String> names = new ArrayList<>();
                        s.getFields().forEach(f -> names.add(f.name()));
                        throw new IllegalArgumentException(at + ": unknown field '" + name + "' (" + s.getName()
                                + " has " + String.join(", ", names) + ")");
                    }
                }
                for (Schema.Field f : s.getFields()) {
                    String fp = path.isEmpty() ? f.name() : path + "." + f.name();
                    JsonNode v = n.get(f.name());
                    if (v == null) {
                        if (f.hasDefaultValue()) {
                            rec.put(f.pos(), GenericData.get().deepCopy(f.schema(), GenericData.get().getDefaultValue(f)));
                        } else if ("created_at".equals(f.name()) && isTimestamp(f.schema())) {
                            rec.put(f.pos(), System.currentTimeMillis());
                        } else {
                            throw new IllegalArgumentException(fp + ": required field is missing");
                        }
                    } else {
                        rec.put(f.pos(), read(v, f.schema(), fp));
                    }
                }
                return rec;
            }
            case UNION -> {
                if (n == null || n.isNull()) {
                    for (Schema b : s.getTypes()) {
                        if (b.getType() == Schema.Type.NULL) {
                            return null;
                        }
                    }
                    throw bad(at, "must not be null", n);
                }
                IllegalArgumentException last = null;
                for (Schema b : s.getTypes()) {
                    if (b.getType() == Schema.Type.NULL) {
                        continue;
                    }
                    try {
                        return read(n, b, path);
                    } catch (IllegalArgumentException e) {
                        last = e;
                    }
                }
                throw last != null ? last : bad(at, "matches no branch of " + s, n);
            }
            case ARRAY -> {
                if (!n.isArray()) {
                    throw bad(at, "expected an array", n);
                }
                List<Object> out = new ArrayList<>(n.size());
                for (int i = 0; i < n.size(); i++) {
                    out.add(read(n.get(i), s.getElementType(), path + "[" + i + "]"));
                }
                return new GenericData.Array<>(s, out);
            }
            case MAP -> {
                if (!n.isObject()) {
                    throw bad(at, "expected an object", n);
                }
                Map<String, Object> out = new LinkedHashMap<>();
                n.fields().forEachRemaining(e -> out.put(e.getKey(), read(e.getValue(), s.getValueType(),
                        path + "." + e.getKey())));
                return out;
            }
            case ENUM -> {
                if (!n.isTextual() || !s.hasEnumSymbol(n.asText())) {
                    throw bad(at, "expected one of " + s.getEnumSymbols(), n);
                }
                return new GenericData.EnumSymbol(s, n.asText());
            }
            case STRING -> {
                if (!n.isTextual()) {
                    throw bad(at, "expected a string", n);
                }
                return n.asText();
            }
            case BYTES -> {
                if (!n.isTextual()) {
                    throw bad(at, "expected Base64 text", n);
                }
                return ByteBuffer.wrap(Base64.getDecoder().decode(n.asText()));
            }
            case INT -> {
                if (!n.canConvertToInt() || !n.isIntegralNumber()) {
                    throw bad(at, "expected an int", n);
                }
                return n.intValue();
            }
            case LONG -> {
                if (n.isTextual() && isTimestamp(s)) {
                    try {
                        return Instant.parse(n.asText()).toEpochMilli();
                    } catch (DateTimeParseException e) {
                        throw bad(at, "expected epoch milliseconds or an ISO-8601 instant", n);
                    }
                }
                if (!n.isIntegralNumber() || !n.canConvertToLong()) {
                    throw bad(at, isTimestamp(s) ? "expected epoch milliseconds or an ISO-8601 instant" : "expected a long", n);
                }
                return n.longValue();
            }
            case FLOAT -> {
                return (float) number(n, at);
            }
            case DOUBLE -> {
                return number(n, at);
            }
            case BOOLEAN -> {
                if (!n.isBoolean()) {
                    throw bad(at, "expected true or false", n);
                }
                return n.booleanValue();
            }
            case NULL -> {
                if (!n.isNull()) {
                    throw bad(at, "expected null", n);
                }
                return null;
            }
            default -> throw new IllegalArgumentException(at + ": Avro type " + s.getType() + " is not supported");
        }
    }

    private static double number(JsonNode n, String at) {
        if (n.isNumber()) {
            return n.doubleValue();
        }
        if (n.isTextual()) {
            switch (n.asText()) {
                case "NaN":
                    return Double.NaN;
                case "Infinity":
                    return Double.POSITIVE_INFINITY;
                case "-Infinity":
                    return Double.NEGATIVE_INFINITY;
                default:
                    break;
            }
        }
        throw bad(at, "expected a number", n);
    }

    private static boolean isTimestamp(Schema s) {
        LogicalType lt = s.getLogicalType();
        return lt instanceof LogicalTypes.TimestampMillis;
    }

    private static IllegalArgumentException bad(String at, String expected, JsonNode got) {
        String g = got == null ? "nothing" : got.toString();
        return new IllegalArgumentException(at + ": " + expected + ", got " + (g.length() > 60 ? g.substring(0, 60) + "..." : g));
    }

    private static JsonNode write(Object v, Schema s) {
        switch (s.getType()) {
            case RECORD -> {
                IndexedRecord r = (IndexedRecord) v;
                ObjectNode o = F.objectNode();
                for (Schema.Field f : s.getFields()) {
                    o.set(f.name(), write(r.get(f.pos()), f.schema()));
                }
                return o;
            }
            case UNION -> {
                int b = GenericData.get().resolveUnion(s, v);
                return write(v, s.getTypes().get(b));
            }
            case ARRAY -> {
                ArrayNode a = F.arrayNode();
                for (Object e : (Iterable<?>) v) {
                    a.add(write(e, s.getElementType()));
                }
                return a;
            }
            case MAP -> {
                ObjectNode o = F.objectNode();
                ((Map<?, ?>) v).forEach((k, e) -> o.set(k.toString(), write(e, s.getValueType())));
                return o;
            }
            case ENUM, STRING -> {
                return F.textNode(v.toString());
            }
            case BYTES -> {
                ByteBuffer b = ((ByteBuffer) v).duplicate();
                byte[] bytes = new byte[b.remaining()];
                b.get(bytes);
                return F.textNode(Base64.getEncoder().encodeToString(bytes));
            }
            case INT -> {
                return F.numberNode(((Number) v).intValue());
            }
            case LONG -> {
                return F.numberNode(v instanceof Instant i ? i.toEpochMilli() : ((Number) v).longValue());
            }
            case FLOAT, DOUBLE -> {
                double d = ((Number) v).doubleValue();
                if (Double.isNaN(d) || Double.isInfinite(d)) {
                    return F.textNode(Double.toString(d));
                }
                return s.getType() == Schema.Type.FLOAT ? F.numberNode(((Number) v).floatValue()) : F.numberNode(d);
            }
            case BOOLEAN -> {
                return F.booleanNode((Boolean) v);
            }
            case NULL -> {
                return F.nullNode();
            }
            default -> {
                return F.textNode(String.valueOf(v));
            }
        }
    }
}
