package io.rewardstream.scoring;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The built-in verifiers: score sources that check a response instead of judging it, so a drifting policy cannot
 * talk its way around them. Pure functions; thread-safe. The spec (and language-neutral vectors) is in
 * {@code scoring/golden/README.md} ({@code verifiers.json}).
 *
 * <ul>
 *   <li>{@link #exactAnswer}: 1.0 when the response's {@link #finalAnswer final answer} equals the reference answer,
 *       numerically when both parse as decimal numbers, else after trimming and case-folding; 0.0 otherwise;</li>
 *   <li>{@link #format}: 1.0 when the pattern is found in the response text, else 0.0;</li>
 *   <li>{@link #length}: minus the number of response tokens over the limit (0 at or under it); the route's weight
 *       is the penalty per token.</li>
 * </ul>
 */
public final class Verifiers {
    private static final String BOXED = "\\boxed{";
    private static final Pattern ANSWER = Pattern.compile("(?i)answer\\s*(?:is|:)");
    /** Digits with thousands separators: 1,234,567.5. */
    private static final Pattern GROUPED = Pattern.compile("[+-]?\\d{1,3}(,\\d{3})+(\\.\\d+)?");

    private Verifiers() {
    }

    /**
     * The final answer of a response, trimmed, first match wins: the content of the last {@code \boxed{...}}; the
     * text after the last {@code ####}; the text after the last "answer is" / "answer:" (any case); else the last
     * non-blank line. One trailing period is dropped. Never null ("" for a blank response).
     */
    public static String finalAnswer(String response) {
        String s = response == null ? "" : response;
        String found = null;
        int boxed = s.lastIndexOf(BOXED);
        if (boxed >= 0) {
            found = braced(s, boxed + BOXED.length());
        }
        if (found == null) {
            int hashes = s.lastIndexOf("####");
            if (hashes >= 0) {
                found = s.substring(hashes + 4);
            }
        }
        if (found == null) {
            Matcher m = ANSWER.matcher(s);
            int end = -1;
            while (m.find()) {
                end = m.end();
            }
            if (end >= 0) {
                found = s.substring(end);
            }
        }
        if (found == null) {
            found = "";
            for (String line : s.split("\\R")) {
                if (!line.isBlank()) {
                    found = line;
                }
            }
        }
        String a = found.trim();
        if (a.endsWith(".")) {
            a = a.substring(0, a.length() - 1).trim();
        }
        return a;
    }

    /** The brace-balanced content from {@code start} (just after an opening brace), or null when unbalanced. */
    private static String braced(String s, int start) {
        int depth = 1;
        for (int i = start; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return s.substring(start, i);
            }
        }
        return null;
    }

    /**
     * Whether two answers are equal: numerically when both parse as decimal numbers ({@code 2.50} = {@code 2.5},
     * {@code 1,000} = {@code 1000}, {@code 1e3} = {@code 1000}), else after trimming and case-folding.
     */
    public static boolean answersEqual(String answer, String reference) {
        BigDecimal a = number(answer);
        BigDecimal b = number(reference);
        if (a != null && b != null) {
            return a.compareTo(b) == 0;
        }
        return fold(answer).equals(fold(reference));
    }

    /** exact_answer: 1.0 when the response's final answer equals the reference answer, else 0.0. */
    public static double exactAnswer(String response, String referenceAnswer) {
        return answersEqual(finalAnswer(response), referenceAnswer) ? 1.0 : 0.0;
    }

    /** format: 1.0 when {@code pattern} is found in the response text, else 0.0. */
    public static double format(Pattern pattern, String response) {
        return pattern.matcher(response).find() ? 1.0 : 0.0;
    }

    /** length: {@code -max(0, responseTokens - maxTokens)}. */
    public static double length(int responseTokens, int maxTokens) {
        return -Math.max(0, responseTokens - maxTokens);
    }

    private static String fold(String s) {
        // upper then lower folds more than lower alone (e.g. German sharp s = ss)
        return s == null ? "" : s.trim().toUpperCase(Locale.ROOT).toLowerCase(Locale.ROOT);
    }

    /** A decimal number, or null. Accepts a sign, decimals, exponent and thousands separators. */
    static BigDecimal number(String s) {
        if (s == null) {
            return null;
        }
        String t = s.trim();
        if (GROUPED.matcher(t).matches()) {
            t = t.replace(",", "");
        }
        if (t.isEmpty() || t.length() > 100) {
            return null;
        }
        try {
            return new BigDecimal(t);
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
