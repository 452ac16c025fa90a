package io.rewardstream.training;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Random;

/**
 * A generator of verifiable preference pairs: prompts like {@code 12+7=}, {@code 3*8=} or
 * {@code 2+3*4=}; the chosen response is the correct result, the rejected one a plausible wrong result
 * (off by one or two, off by ten, the other operation's result, or random). Immutable and thread-safe;
 * every list it returns is a deterministic function of the config and the arguments.
 *
 * <p>Knobs: operations, {@code maxOperand} (difficulty), {@code noise} (fraction of pairs whose labels are
 * flipped, i.e. annotator noise), {@code verbosityTrap} (fraction of rejected answers padded with
 * plausible filler such as "The answer is probably 21, let me double check..." so a model that likes
 * long answers is caught: its reward correlates with length) and {@code heldOutOperands}, the fraction
 * of operand tuples (unordered for + and *) reserved for {@link Part#HELD_OUT}: they never occur in
 * {@link Part#TRAIN}.
 */
public final class ArithmeticTask {

    /** Problem kinds: {@code a+b}, {@code a*b}, and two-step {@code a+b*c} / {@code a*b+c}. */
    public enum Operation {
        ADD, MUL, MULTI;

        public static Operation parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "add", "+" -> ADD;
                case "mul", "*" -> MUL;
                case "multi" -> MULTI;
                default -> throw new IllegalArgumentException("unknown operation '" + s + "' (expected add, mul, multi)");
            };
        }
    }

    /** Which operand tuples to draw from. */
    public enum Part { TRAIN, HELD_OUT, ANY }

    /** Generator settings. Immutable. */
    public record Config(List<Operation> ops, int maxOperand, double noise, double verbosityTrap,
                         double heldOutOperands, double nearMiss, long seed) {
        public Config {
            ops = List.copyOf(ops);
            if (ops.isEmpty()) {
                throw new IllegalArgumentException("arithmetic: at least one operation required");
            }
            if (maxOperand < 1 || maxOperand > 999) {
                throw new IllegalArgumentException("arithmetic: max_operand must be in [1,999], got " + maxOperand);
            }
            if (noise < 0 || noise >= 0.5) {
                throw new IllegalArgumentException("arithmetic: noise must be in [0,0.5), got " + noise);
            }
            if (verbosityTrap < 0 || verbosityTrap > 1) {
                throw new IllegalArgumentException("arithmetic: verbosity_trap must be in [0,1], got " + verbosityTrap);
            }
            if (nearMiss < 0 || nearMiss > 1) {
                throw new IllegalArgumentException("arithmetic: near_miss must be in [0,1], got " + nearMiss);
            }
            if (heldOutOperands < 0 || heldOutOperands >= 1) {
                throw new IllegalArgumentException("arithmetic: held_out_operands must be in [0,1), got " + heldOutOperands);
            }
        }

        /**
         * Addition of operands 0..19, half of the rejected answers verbose, no noise, 20% of operand tuples
         * held out, no near misses (wrong answers off by 10, the other operation's result, or random).
         */
        public static Config defaults() {
            return new Config(List.of(Operation.ADD), 19, 0.0, 0.5, 0.2, 0.0, 7);
        }

        public Config withNearMiss(double f) {
            return new Config(ops, maxOperand, noise, verbosityTrap, heldOutOperands, f, seed);
        }

        public Config withHeldOutOperands(double f) {
            return new Config(ops, maxOperand, noise, verbosityTrap, f, nearMiss, seed);
        }

        public Config withOps(List<Operation> o) {
            return new Config(o, maxOperand, noise, verbosityTrap, heldOutOperands, nearMiss, seed);
        }

        public Config withMaxOperand(int m) {
            return new Config(ops, m, noise, verbosityTrap, heldOutOperands, nearMiss, seed);
        }

        public Config withNoise(double n) {
            return new Config(ops, maxOperand, n, verbosityTrap, heldOutOperands, nearMiss, seed);
        }

        public Config withVerbosityTrap(double v) {
            return new Config(ops, maxOperand, noise, v, heldOutOperands, nearMiss, seed);
        }

        public Config withSeed(long s) {
            return new Config(ops, maxOperand, noise, verbosityTrap, heldOutOperands, nearMiss, s);
        }
    }

    /** One problem: its prompt, the operand key and the correct value. */
    public record Problem(String prompt, String operandKey, long value, long confusable) {
    }

    /** A prompt with one answer that is either correct or wrong (for demos and scoring examples). */
    public record Sample(String prompt, String answer, boolean correct) {
    }

    private static final String[] FILLERS = {
            "The answer is probably %d, let me double check...",
            "Let me think. Hmm, I believe it is %d.",
            "Good question! It should be %d, I think.",
            "%d, but I am not entirely sure about that.",
            "After careful thought: %d. Hope this helps!",
    };

    private final Config cfg;

    public ArithmeticTask(Config cfg) {
        this.cfg = Objects.requireNonNull(cfg);
    }

    public Config config() {
        return cfg;
    }

    /**
     * {@code n} pairs with ids {@code arith-<seed>-<part>-<i>}; labels are flipped with probability
     * {@code noise} when {@code withNoise}.
     */
    public List<PreferenceExample> generate(int n, Part part, boolean withNoise) {
        Random rnd = new Random(cfg.seed() * 1_000_003L + part.ordinal());
        List<PreferenceExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Problem p = problem(rnd, part);
            String chosen = Long.toString(p.value());
            String rejected = wrong(rnd, p);
            if (rnd.nextDouble() < cfg.verbosityTrap()) {
                rejected = String.format(FILLERS[rnd.nextInt(FILLERS.length)], Long.parseLong(rejected));
            }
            if (withNoise && rnd.nextDouble() < cfg.noise()) {
                String t = chosen;
                chosen = rejected;
                rejected = t;
            }
            out.add(new PreferenceExample("arith-" + cfg.seed() + "-" + part.name().toLowerCase(Locale.ROOT) + "-" + i,
                    p.prompt(), chosen, rejected, 0.0));
        }
        return out;
    }

    /** Rankings of k responses best first: the correct answer, then wrong answers ever further off. */
    public List<RankedExample> generateRanked(int n, int k, Part part) {
        Random rnd = new Random(cfg.seed() * 1_000_033L + 17 + part.ordinal());
        List<RankedExample> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Problem p = problem(rnd, part);
            List<String> rs = new ArrayList<>();
            rs.add(Long.toString(p.value()));
            for (int j = 1; j < k; j++) {
                rs.add(Long.toString(p.value() + j * (rnd.nextBoolean() ? 1 : 10)));
            }
            out.add(new RankedExample("arith-ranked-" + cfg.seed() + "-" + i, p.prompt(), rs));
        }
        return out;
    }

    /** A random problem with a correct or a wrong (possibly verbose) answer. */
    public Sample sample(Random rnd, boolean correct) {
        Problem p = problem(rnd, Part.ANY);
        if (correct) {
            return new Sample(p.prompt(), Long.toString(p.value()), true);
        }
        String w = wrong(rnd, p);
        if (rnd.nextDouble() < cfg.verbosityTrap()) {
            w = String.format(FILLERS[rnd.nextInt(FILLERS.length)], Long.parseLong(w));
        }
        return new Sample(p.prompt(), w, false);
    }

    /** Convenience for demos: a sample from a default-config task. */
    public static Sample sample(long seed, boolean correct) {
        return new ArithmeticTask(Config.defaults().withSeed(seed)).sample(new Random(seed), correct);
    }

    /** Verifies an answer text: true when the last integer in it equals the problem's value. */
    public static boolean isCorrect(String prompt, String answer) {
        long expected = evaluate(prompt);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("-?\\d+").matcher(answer);
        Long last = null;
        while (m.find()) {
            last = Long.parseLong(m.group());
        }
        return last != null && last == expected;
    }

    /** Value of a prompt such as {@code 2+3*4=} (usual precedence). */
    public static long evaluate(String prompt) {
        String s = prompt.endsWith("=") ? prompt.substring(0, prompt.length() - 1) : prompt;
        long sum = 0;
        for (String term : s.split("\\+")) {
            long prod = 1;
            for (String f : term.split("\\*")) {
                prod *= Long.parseLong(f.trim());
            }
            sum += prod;
        }
        return sum;
    }

    private Problem problem(Random rnd, Part part) {
        for (int attempt = 0; attempt < 10_000; attempt++) {
            Operation op = cfg.ops().get(rnd.nextInt(cfg.ops().size()));
            int max = cfg.maxOperand();
            Problem p = switch (op) {
                case ADD -> {
                    int a = rnd.nextInt(max + 1);
                    int b = rnd.nextInt(max + 1);
                    yield new Problem(a + "+" + b + "=", "+" + Math.min(a, b) + "," + Math.max(a, b), a + b, (long) a * b);
                }
                case MUL -> {
                    int m = Math.min(max, 12);
                    int a = rnd.nextInt(m + 1);
                    int b = rnd.nextInt(m + 1);
                    yield new Problem(a + "*" + b + "=", "*" + Math.min(a, b) + "," + Math.max(a, b), (long) a * b, a + b);
                }
                case MULTI -> {
                    int m = Math.min(max, 9);
                    int a = rnd.nextInt(m + 1);
                    int b = rnd.nextInt(m + 1);
                    int c = rnd.nextInt(m + 1);
                    yield rnd.nextBoolean()
                            ? new Problem(a + "+" + b + "*" + c + "=", "+*" + a + "," + b + "," + c, a + (long) b * c, (long) (a + b) * c)
                            : new Problem(a + "*" + b + "+" + c + "=", "*+" + a + "," + b + "," + c, (long) a * b + c, (long) a * (b + c));
                }
            };
            boolean held = cfg.heldOutOperands() > 0 && Splits.heldOut("operands:" + p.operandKey(), cfg.heldOutOperands());
            if (part == Part.ANY || (part == Part.HELD_OUT) == held) {
                return p;
            }
        }
        throw new IllegalStateException("no operand tuple available for part " + part + " with " + cfg);
    }

    /** A wrong result: a near miss (+-1, +-2) with probability nearMiss, else +-10, the other operation or random. */
    private String wrong(Random rnd, Problem p) {
        long v = p.value();
        boolean near = rnd.nextDouble() < cfg.nearMiss();
        for (int attempt = 0; attempt < 100; attempt++) {
            long w;
            if (near) {
                w = v + (rnd.nextBoolean() ? 1 : -1) * (1 + rnd.nextInt(2));
            } else {
                w = switch (rnd.nextInt(3)) {
                    case 0 -> v + (rnd.nextBoolean() ? 10 : -10);
                    case 1 -> p.confusable();
                    default -> rnd.nextInt((int) Math.max(10, 2 * v + 10));
                };
                if (Math.abs(w - v) < 3) {
                    continue;   // keep near misses under the nearMiss knob
                }
            }
            if (w >= 0 && w != v) {
                return Long.toString(w);
            }
        }
        return Long.toString(v + 10);
    }
}
