package io.rewardstream.scoring;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.rewardstream.avro.FinishReason;
import io.rewardstream.avro.Rollout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Fuzzes {@link RolloutValidator} and then {@link SequenceEncoder} (the two checks the scorer runs on each rollout)
 * over fuzzed Rollout fields: nulls, empty and blank strings, any ints as token ids, any floats (NaN, infinities) as
 * log-probs, mismatched lengths, any group size, metadata maps. Only {@link InvalidRolloutException} and
 * {@link SequenceEncodingException} may escape; a rollout the validator accepts must encode to a sequence within the
 * model's max_seq_len with ids inside the vocabulary.
 *
 * <p>Regression mode by default (seeds in {@code src/test/resources/io/rewardstream/scoring/RolloutValidatorFuzzTestInputs/}
 * plus an empty input); {@code JAZZER_FUZZ=1 ./mvnw -o test -Dtest=RolloutValidatorFuzzTest} fuzzes for maxDuration.
 */
class RolloutValidatorFuzzTest {
  private static final int VOCAB = 260;
  private static final ModelManifest MANIFEST = ConstantRewardModel.of(0f, 64, VOCAB).manifest();
  private static final RolloutValidator VALIDATOR = new RolloutValidator(new RolloutValidator.Limits(VOCAB, 512, 512,
      64, 8, 512, 1024));

  @FuzzTest(maxDuration = "30s")
  void shouldOnlyRejectWithTypedErrors(FuzzedDataProvider data) {
    Rollout r = new Rollout();
    r.setRolloutId(data.consumeBoolean() ? null : data.consumeString(12));
    r.setGroupId(data.consumeBoolean() ? null : data.consumeString(12));
    r.setGroupSize(data.consumeBoolean() ? null : data.consumeInt());
    r.setPolicyVersion(data.consumeBoolean() ? null : data.consumeString(8));
    r.setPromptTokenIds(data.consumeBoolean() ? null : ints(data, data.consumeInt(0, 40), data.consumeBoolean()));
    int len = data.consumeInt(0, 40);
    r.setResponseTokenIds(data.consumeBoolean() ? null : ints(data, len, data.consumeBoolean()));
    r.setPolicyLogprobs(data.consumeBoolean() ? null : floats(data, data.consumeBoolean() ? len : data.consumeInt(0, 41)));
    r.setReferenceLogprobs(data.consumeBoolean() ? null : floats(data, data.consumeBoolean() ? len : data.consumeInt(0, 41)));
    r.setPromptText(data.consumeBoolean() ? null : data.consumeString(64));
    r.setResponseText(data.consumeBoolean() ? null : data.consumeString(64));
    r.setFinishReason(data.consumeBoolean() ? null : data.pickValue(FinishReason.values()));
    r.setCreatedAt(java.time.Instant.ofEpochMilli(data.consumeLong()));
    Map<String, String> meta = new HashMap<>();
    int entries = data.consumeInt(0, 12);
    for (int i = 0; i < entries; i++) {
      meta.put(data.consumeString(16), data.consumeBoolean() ? null : data.consumeString(200));
    }
    r.setMetadata(data.consumeBoolean() ? null : meta);
    try {
      VALIDATOR.validate(r);
    } catch (InvalidRolloutException expected) {
      return;
    }
    try (SequenceEncoder enc = new SequenceEncoder(MANIFEST)) {
      EncodedSequence e = enc.encode(new SequenceParts(toArray(r.getPromptTokenIds()), toArray(r.getResponseTokenIds()),
          r.getPromptText(), r.getResponseText()));
      if (e.length() > MANIFEST.maxSeqLen() || e.length() < 1) {
        throw new AssertionError("encoded length " + e.length() + " outside [1, " + MANIFEST.maxSeqLen() + "]");
      }
      for (int i = 0; i < e.length(); i++) {
        if (e.ids()[i] < 0 || e.ids()[i] >= VOCAB) {
          throw new AssertionError("encoded id " + e.ids()[i] + " outside the vocabulary");
        }
      }
    } catch (SequenceEncodingException expected) {
      // typed refusal
    }
  }

  private static List<Integer> ints(FuzzedDataProvider data, int n, boolean allowNull) {
    List<Integer> l = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      l.add(allowNull && data.consumeInt(0, 50) == 0 ? null : data.consumeBoolean() ? data.consumeInt(4, VOCAB - 1)
          : data.consumeInt());
    }
    return l;
  }

  private static List<Float> floats(FuzzedDataProvider data, int n) {
    List<Float> l = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      l.add(data.consumeBoolean() ? data.consumeFloat() : -data.consumeRegularFloat(0f, 20f));
    }
    return l;
  }

  private static int[] toArray(List<Integer> l) {
    int[] a = new int[l.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = l.get(i);
    }
    return a;
  }
}
