package io.rewardstream.training;

import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.RankedResponse;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Checks preference records and turns them into {@link StoredPair}s. Stateless; thread-safe.
 *
 * <p>Rules: an id; text or token ids for prompt, chosen and rejected (every response of a ranking);
 * chosen differs from rejected; margin finite and >= 0; a ranking is a permutation of 0..k-1 with k >= 2.
 * A ranking stays one entry (responses best first) that the retraining job trains with the Plackett-Luce loss; it is
 * never split into its k(k-1)/2 implied pairs for training.
 */
public final class PreferenceValidator {
    public static final String MISSING_ID = "MISSING_ID";
    public static final String MISSING_PROMPT = "MISSING_PROMPT";
    public static final String MISSING_RESPONSE = "MISSING_RESPONSE";
    public static final String SAME_RESPONSE = "SAME_RESPONSE";
    public static final String BAD_MARGIN = "BAD_MARGIN";
    public static final String BAD_RANKING = "BAD_RANKING";

    private PreferenceValidator() {
    }

    /** @throws InvalidPreferenceException with a reason code */
    public static StoredPair validate(PreferencePair p, String topic, int partition, long offset) {
        String id = str(p.getPairId());
        if (id == null || id.isBlank()) {
            throw new InvalidPreferenceException(MISSING_ID, "pair_id is empty");
        }
        String prompt = str(p.getPromptText());
        int[] promptIds = ids(p.getPromptTokenIds());
        if (prompt == null && promptIds == null) {
            throw new InvalidPreferenceException(MISSING_PROMPT, "pair " + id + ": neither prompt_text nor prompt_token_ids");
        }
        String chosen = str(p.getChosenText());
        int[] chosenIds = ids(p.getChosenTokenIds());
        String rejected = str(p.getRejectedText());
        int[] rejectedIds = ids(p.getRejectedTokenIds());
        if (chosen == null && chosenIds == null) {
            throw new InvalidPreferenceException(MISSING_RESPONSE, "pair " + id + ": neither chosen_text nor chosen_token_ids");
        }
        if (rejected == null && rejectedIds == null) {
            throw new InvalidPreferenceException(MISSING_RESPONSE, "pair " + id + ": neither rejected_text nor rejected_token_ids");
        }
        if (same(chosen, chosenIds, rejected, rejectedIds)) {
            throw new InvalidPreferenceException(SAME_RESPONSE, "pair " + id + ": chosen and rejected are the same response");
        }
        double margin = p.getMargin() == null ? 0.0 : p.getMargin();
        if (!Double.isFinite(margin) || margin < 0) {
            throw new InvalidPreferenceException(BAD_MARGIN, "pair " + id + ": margin must be finite and >= 0, got " + margin);
        }
        return new StoredPair(id, id, prompt, promptIds, chosen, chosenIds, rejected, rejectedIds, margin,
                str(p.getAnnotatorId()), topic, partition, offset).withObjective(str(p.getObjective()));
    }

    /**
     * A ranking as one {@link StoredPair#isRanking() ranking entry}, responses best first (a one-element list).
     *
     * @throws InvalidPreferenceException with a reason code
     */
    public static List<StoredPair> validate(RankedPreference r, String topic, int partition, long offset) {
        String id = str(r.getRankingId());
        if (id == null || id.isBlank()) {
            throw new InvalidPreferenceException(MISSING_ID, "ranking_id is empty");
        }
        String prompt = str(r.getPromptText());
        int[] promptIds = ids(r.getPromptTokenIds());
        if (prompt == null && promptIds == null) {
            throw new InvalidPreferenceException(MISSING_PROMPT, "ranking " + id + ": neither prompt_text nor prompt_token_ids");
        }
        List<RankedResponse> rs = r.getResponses();
        int k = rs == null ? 0 : rs.size();
        if (k < 2) {
            throw new InvalidPreferenceException(BAD_RANKING, "ranking " + id + ": needs k >= 2 responses, got " + k);
        }
        List<Integer> ranking = r.getRanking();
        if (ranking == null || ranking.size() != k) {
            throw new InvalidPreferenceException(BAD_RANKING, "ranking " + id + ": ranking has "
                    + (ranking == null ? 0 : ranking.size()) + " entries for " + k + " responses");
        }
        boolean[] seen = new boolean[k];
        for (Integer i : ranking) {
            if (i == null || i < 0 || i >= k || seen[i]) {
                throw new InvalidPreferenceException(BAD_RANKING, "ranking " + id + ": " + ranking
                        + " is not a permutation of 0.." + (k - 1));
            }
            seen[i] = true;
        }
        for (int i = 0; i < k; i++) {
            if (str(rs.get(i).getText()) == null && ids(rs.get(i).getTokenIds()) == null) {
                throw new InvalidPreferenceException(MISSING_RESPONSE, "ranking " + id + ": response " + i
                        + " has neither text nor token_ids");
            }
        }
        List<String> texts = new ArrayList<>(k);
        List<int[]> idLists = new ArrayList<>(k);
        boolean anyText = false;
        boolean anyIds = false;
        for (int a = 0; a < k; a++) {
            RankedResponse better = rs.get(ranking.get(a));
            String bt = str(better.getText());
            int[] bi = ids(better.getTokenIds());
            for (int b = a + 1; b < k; b++) {
                RankedResponse worse = rs.get(ranking.get(b));
                if (same(bt, bi, str(worse.getText()), ids(worse.getTokenIds()))) {
                    throw new InvalidPreferenceException(SAME_RESPONSE, "ranking " + id + ": responses "
                            + ranking.get(a) + " and " + ranking.get(b) + " are the same");
                }
            }
            texts.add(bt);
            idLists.add(bi);
            anyText |= bt != null;
            anyIds |= bi != null;
        }
        return List.of(StoredPair.ranking(id, prompt, promptIds, anyText ? texts : null, anyIds ? idLists : null,
                str(r.getAnnotatorId()), topic, partition, offset).withObjective(str(r.getObjective())));
    }

    private static boolean same(String at, int[] ai, String bt, int[] bi) {
        if (at != null && bt != null) {
            return at.equals(bt);
        }
        return ai != null && bi != null && Arrays.equals(ai, bi);
    }

    private static String str(CharSequence s) {
        return s == null ? null : s.toString();
    }

    private static int[] ids(List<Integer> l) {
        if (l == null || l.isEmpty()) {
            return null;   // an empty id list is no response at all
        }
        int[] a = new int[l.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = l.get(i);
        }
        return a;
    }
}
