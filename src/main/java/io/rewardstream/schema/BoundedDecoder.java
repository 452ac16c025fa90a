package io.rewardstream.schema;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.Decoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.util.Utf8;

/**
 * Avro binary decoder over a byte range that refuses length prefixes and block counts the remaining
 * bytes cannot hold, before anything is allocated. Avro's own decoder allocates the announced length
 * first (up to 2 GB for a garbage string length), which a poison record must not be able to cause.
 * Not thread-safe; one per record.
 */
final class BoundedDecoder extends Decoder {
  /** Items of zero encoded bytes (null, empty records) are legal: allow this many beyond the byte count. */
  private static final long ZERO_SIZE_ITEM_SLACK = 1 << 16;

  private final Source source;
  private final BinaryDecoder in;

  BoundedDecoder(byte[] data, int offset, int length) {
    this.source = new Source(data, offset, length);
    this.in = DecoderFactory.get().directBinaryDecoder(source, null);
  }

  /** Bytes not consumed yet. */
  int remaining() {
    return source.end - source.pos;
  }

  private int checkedLength(long len) throws IOException {
    if (len < 0) {
      throw new MalformedException("negative length " + len);
    }
    if (len > remaining()) {
      throw new EOFException("length " + len + " exceeds the " + remaining() + " bytes left");
    }
    return (int) len;
  }

  private long checkedCount(long count) throws IOException {
    if (count < 0) {
      throw new MalformedException("negative block count " + count);
    }
    if (count > remaining() + ZERO_SIZE_ITEM_SLACK) {
      throw new EOFException("block count " + count + " exceeds the " + remaining() + " bytes left");
    }
    return count;
  }

  /** A structural error in the bytes (as opposed to running out of them). */
  static final class MalformedException extends IOException {
    private static final long serialVersionUID = 1L;

    MalformedException(String message) {
      super(message);
    }
  }

  @Override
  public void readNull() throws IOException {
    in.readNull();
  }

  @Override
  public boolean readBoolean() throws IOException {
    return in.readBoolean();
  }

  @Override
  public int readInt() throws IOException {
    return in.readInt();
  }

  @Override
  public long readLong() throws IOException {
    return in.readLong();
  }

  @Override
  public float readFloat() throws IOException {
    return in.readFloat();
  }

  @Override
  public double readDouble() throws IOException {
    return in.readDouble();
  }

  @Override
  public Utf8 readString(Utf8 old) throws IOException {
    int len = checkedLength(in.readLong());
    Utf8 result = old != null ? old : new Utf8();
    result.setByteLength(len);
    if (len > 0) {
      in.readFixed(result.getBytes(), 0, len);
      checkUtf8(result.getBytes(), len);
    }
    return result;
  }

  /**
   * Avro's own decoders turn invalid UTF-8 into U+FFFD silently; a text-tokenizer reward model would then score
   * different text than the trainer sent. Refuse it instead (MALFORMED_BODY). ASCII-only strings skip the decoder.
   */
  private static void checkUtf8(byte[] bytes, int len) throws IOException {
    for (int i = 0; i < len; i++) {
      if (bytes[i] < 0) {
        try {
          java.nio.charset.StandardCharsets.UTF_8.newDecoder()
              .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
              .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes, 0, len));
        } catch (java.nio.charset.CharacterCodingException e) {
          throw new MalformedException("a string of " + len + " bytes is not valid UTF-8 (" + e + ")");
        }
        return;
      }
    }
  }

  @Override
  public String readString() throws IOException {
    return readString(null).toString();
  }

  @Override
  public void skipString() throws IOException {
    in.skipFixed(checkedLength(in.readLong()));
  }

  @Override
  public ByteBuffer readBytes(ByteBuffer old) throws IOException {
    int len = checkedLength(in.readLong());
    ByteBuffer result = old != null && old.capacity() >= len ? old : ByteBuffer.allocate(len);
    result.clear();
    in.readFixed(result.array(), result.position(), len);
    result.limit(len);
    return result;
  }

  @Override
  public void skipBytes() throws IOException {
    in.skipFixed(checkedLength(in.readLong()));
  }

  @Override
  public void readFixed(byte[] bytes, int start, int length) throws IOException {
    checkedLength(length);
    in.readFixed(bytes, start, length);
  }

  @Override
  public void skipFixed(int length) throws IOException {
    in.skipFixed(checkedLength(length));
  }

  @Override
  public int readEnum() throws IOException {
    return in.readEnum();
  }

  @Override
  public long readArrayStart() throws IOException {
    return checkedCount(in.readArrayStart());
  }

  @Override
  public long arrayNext() throws IOException {
    return checkedCount(in.arrayNext());
  }

  @Override
  public long skipArray() throws IOException {
    return checkedCount(in.skipArray());
  }

  @Override
  public long readMapStart() throws IOException {
    return checkedCount(in.readMapStart());
  }

  @Override
  public long mapNext() throws IOException {
    return checkedCount(in.mapNext());
  }

  @Override
  public long skipMap() throws IOException {
    return checkedCount(in.skipMap());
  }

  @Override
  public int readIndex() throws IOException {
    return in.readIndex();
  }

  /** An unsynchronized byte-range stream whose position tells how much is left. */
  private static final class Source extends InputStream {
    private final byte[] data;
    private final int end;
    private int pos;

    Source(byte[] data, int offset, int length) {
      this.data = data;
      this.pos = offset;
      this.end = offset + length;
    }

    @Override
    public int read() {
      return pos < end ? data[pos++] & 0xff : -1;
    }

    @Override
    public int read(byte[] b, int off, int len) {
      if (len == 0) {
        return 0;
      }
      if (pos >= end) {
        return -1;
      }
      int n = Math.min(len, end - pos);
      System.arraycopy(data, pos, b, off, n);
      pos += n;
      return n;
    }

    @Override
    public long skip(long n) {
      long k = Math.max(0, Math.min(n, end - pos));
      pos += (int) k;
      return k;
    }

    @Override
    public int available() {
      return end - pos;
    }
  }
}
