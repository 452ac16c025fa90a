package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Multi-step arithmetic problems and answers with step labels, for the process reward model: the prompt
 * {@code "(3+4)*2-5="} (the chain written left to right, parenthesised where precedence would reorder it) and the
 * answer {@code "3+4=7, 7*2=14, 14-5=9"}.
 * Each step applies an operation to the previous step's written result. A step is wrong when its written result
 * is not the value of its own left-hand side; every step after the first wrong one is labelled wrong too (it is
 * built on a wrong value), even when its own arithmetic is right. Token ids are the answer's bytes + {@link
 * ByteTokenizer#OFFSET} (ids 4..259 of the byte vocabulary, as the demo's simulated policy writes them); the token
 * label is 1 up to the first wrong step's written result and 0 from its first character on (before it the
 * tokens carry no evidence of the error: a causal reader cannot know yet), i.e. 0 on the rest of that step and on
 * every later step. The prompt is written the same way (its bytes + {@link ByteTokenizer#OFFSET}), so
 * {@link Answer#sequence()} is exactly what the scorer feeds a tokenizer-{@code ids} model for a rollout with these
 * prompt and response token ids. Stateless; every answer is a deterministic function of the Random.
 */
public final class ArithmeticSteps {
    /** Operands of the first step and of every later step's right-hand side: 1..{@value}. */
    static final int MAX_OPERAND = 9;

    private ArithmeticSteps() {
    }

    /**
     * One labelled answer to its problem.
     *
     * @param prompt          the problem, e.g. {@code "(3+4)*2-5="}
     * @param promptIds       its token ids (bytes + {@link ByteTokenizer#OFFSET})
     * @param text            the answer
     * @param ids             the answer's token ids
     * @param labels          per answer token: 1 while every step so far is right, 0 from the first wrong result on
     * @param firstWrongStep  index of the first wrong step, or -1 when every step is right
     * @param firstWrongToken index (in the answer) of the first token labelled 0, or {@code ids.length} when none is
     */
    public record Answer(String prompt, int[] promptIds, String text, int[] ids, float[] labels, int firstWrongStep,
                         int firstWrongToken) {
        /** Prompt ids followed by answer ids: the model input the scorer builds for tokenizer {@code ids}. */
        public int[] sequence() {
            int[] out = new int[promptIds.length + ids.length];
            System.arraycopy(promptIds, 0, out, 0, promptIds.length);
            System.arraycopy(ids, 0, out, promptIds.length, ids.length);
            return out;
        }
    }

    /**
     * An answer of {@code steps} steps whose step {@code wrongStep} (0-based; -1 for none) writes a wrong result
     * (the right one off by 1..3); the steps after it compute correctly from the wrong value.
     */
    public static Answer generate(Random rnd, int steps, int wrongStep) {
        return generate(rnd, steps, wrongStep, 3, MAX_OPERAND);
    }

    /** As {@link #generate(Random, int, int)} with the first {@code opCount} of '+', '-', '*' and operands 1..max. */
    public static Answer generate(Random rnd, int steps, int wrongStep, int opCount, int maxOperand) {
        int[] ops = new int[steps];
        int[] rhs = new int[steps];
        for (int i = 0; i < steps; i++) {
            ops[i] = rnd.nextInt(opCount);
            rhs[i] = 1 + rnd.nextInt(maxOperand);
        }
        int[] wrongBy = new int[steps];
        if (wrongStep >= 0) {
            wrongBy[wrongStep] = (rnd.nextBoolean() ? 1 : -1) * (1 + rnd.nextInt(3));
        }
        return build(1 + rnd.nextInt(maxOperand), ops, rhs, wrongBy);
    }

    /**
     * The answer starting from {@code start}, step i applying {@code ops[i]} (0 '+', 1 '-', 2 '*') with {@code rhs[i]}
     * and writing its true result plus {@code wrongBy[i]}.
     */
    public static Answer build(int start, int[] ops, int[] rhs, int[] wrongBy) {
        StringBuilder prompt = new StringBuilder().append(start);
        boolean additive = false;
        for (int i = 0; i < ops.length; i++) {
            if (ops[i] == 2 && additive) {
                // left to right: (a+b)*c, never a+(b*c)
                prompt.insert(0, '(').append(')');
            }
            additive = ops[i] != 2;
            prompt.append("+-*".charAt(ops[i])).append(rhs[i]);
        }
        prompt.append('=');
        StringBuilder text = new StringBuilder();
        List<Integer> resultStarts = new ArrayList<>();
        int value = start;
        int firstWrong = -1;
        for (int i = 0; i < ops.length; i++) {
            if (i > 0) {
                text.append(", ");
            }
            int result = switch (ops[i]) {
                case 0 -> value + rhs[i];
                case 1 -> value - rhs[i];
                default -> value * rhs[i];
            };
            int written = result + wrongBy[i];
            if (written != result && firstWrong < 0) {
                firstWrong = i;
            }
            text.append(value).append("+-*".charAt(ops[i])).append(rhs[i]).append('=');
            resultStarts.add(text.length());
            text.append(written);
            value = written;
        }
        byte[] bytes = text.toString().getBytes(StandardCharsets.US_ASCII);
        int[] promptIds = ByteTokenizer.encode(prompt.toString());
        int[] ids = new int[bytes.length];
        float[] labels = new float[bytes.length];
        int firstWrongToken = firstWrong < 0 ? bytes.length : resultStarts.get(firstWrong);
        for (int t = 0; t < bytes.length; t++) {
            ids[t] = (bytes[t] & 0xff) + ByteTokenizer.OFFSET;
            labels[t] = t < firstWrongToken ? 1f : 0f;
        }
        return new Answer(prompt.toString(), promptIds, text.toString(), ids, labels, firstWrong, firstWrongToken);
    }
}
