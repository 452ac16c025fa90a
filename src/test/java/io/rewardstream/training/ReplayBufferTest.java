package io.rewardstream.training;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ReplayBufferTest {
    @TempDir
    Path dir;

    static StoredPair pair(int i, String topic, int partition, long offset) {
        return new StoredPair("p" + i, null, "q" + i, null, "a" + i, null, "b" + i, null, 0.0, null, topic, partition,
                offset);
    }

    static List<StoredPair> pairs(int from, int n) {
        List<StoredPair> l = new ArrayList<>();
        for (int i = from; i < from + n; i++) {
            l.add(pair(i, "prefs", 0, i));
        }
        return l;
    }

    @Test
    void shouldReloadPairsAndPositionsAfterRestart() throws Exception {
        ReplayBuffer b = ReplayBuffer.open(dir, 100);
        b.append(pairs(0, 5), Map.of("prefs:0", 5L));
        b.append(pairs(5, 3), Map.of("prefs:0", 9L, "ranked:1", 2L));
        ReplayBuffer again = ReplayBuffer.open(dir, 100);
        assertThat(again.size()).isEqualTo(8);
        assertThat(again.pairs()).extracting(StoredPair::id).containsExactly("p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7");
        assertThat(again.pairs().get(3).chosen()).isEqualTo("a3");
        assertThat(again.positions()).containsEntry("prefs:0", 9L).containsEntry("ranked:1", 2L);
    }

    @Test
    void shouldKeepARankingAsOneEntryAcrossARestart() throws Exception {
        ReplayBuffer b = ReplayBuffer.open(dir, 100);
        StoredPair r = StoredPair.ranking("r1", "2+2=", new int[]{1, 2}, java.util.Arrays.asList("4", "5", null),
                java.util.Arrays.asList(new int[]{4}, new int[]{5}, new int[]{50}), "ann", "ranked", 0, 7);
        b.append(List.of(r, pair(1, "prefs", 0, 3)), Map.of("ranked:0", 8L));
        ReplayBuffer again = ReplayBuffer.open(dir, 100);
        assertThat(again.size()).isEqualTo(2);
        StoredPair back = again.pairs().get(0);
        assertThat(back.isRanking()).isTrue();
        assertThat(back.k()).isEqualTo(3);
        assertThat(back.ranked()).containsExactly("4", "5", null);
        assertThat(back.rankedIds()).hasSize(3);
        assertThat(back.rankedIds().get(2)).containsExactly(50);
        assertThat(back.toRanked("bytes")).isNull();   // the third response has no text
        assertThat(back.toRanked("ids").responsesBestFirst()).containsExactly("4", "5", "50");
        assertThat(again.pairs().get(1).isRanking()).isFalse();
    }

    @Test
    void shouldNeverMovePositionsBack() throws Exception {
        ReplayBuffer b = ReplayBuffer.open(dir, 100);
        b.append(pairs(0, 2), Map.of("prefs:0", 10L));
        b.append(List.of(), Map.of("prefs:0", 4L, "prefs:1", 3L));
        assertThat(b.positions()).containsEntry("prefs:0", 10L).containsEntry("prefs:1", 3L);
        assertThat(ReplayBuffer.open(dir, 100).positions()).containsEntry("prefs:0", 10L);
    }

    @Test
    void shouldStayBoundedByDroppingTheOldestSegment() throws Exception {
        ReplayBuffer b = ReplayBuffer.open(dir, 16);   // segments of 2 pairs
        for (int i = 0; i < 20; i++) {
            b.append(pairs(i * 3, 3), Map.of("prefs:0", (long) (i * 3 + 3)));
            assertThat(b.size()).isLessThanOrEqualTo(16);
        }
        assertThat(b.size()).isGreaterThanOrEqualTo(14);
        List<StoredPair> held = b.pairs();
        assertThat(held.get(held.size() - 1).id()).isEqualTo("p59");   // newest kept
        assertThat(held).extracting(StoredPair::id).doesNotContain("p0");   // oldest dropped
        assertThat(ReplayBuffer.open(dir, 16).pairs()).isEqualTo(held);
    }

    /** Appends p0 and p1 to a new buffer in {@link #dir}: the segment file that holds them. */
    private Path twoPairsInOneSegment() throws Exception {
        ReplayBuffer.open(dir, 100).append(pairs(0, 2), Map.of("prefs:0", 2L));
        try (var s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().startsWith("segment-")).findFirst().orElseThrow();
        }
    }

    @Test
    void shouldSkipATornLastLine() throws Exception {
        Path seg = twoPairsInOneSegment();
        Files.writeString(seg, "{\"id\":\"p2\",\"prom", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        assertThat(ReplayBuffer.open(dir, 100).pairs()).extracting(StoredPair::id).containsExactly("p0", "p1");
    }

    @Test
    void shouldCutATornNonAsciiLineSoTheNextAppendStaysReadable() throws Exception {
        Path seg = twoPairsInOneSegment();
        // a crash cut the write inside a two-byte character: the file ends in half of "é"
        byte[] torn = "{\"id\":\"p2\",\"prompt\":\"caf\u00e9".getBytes(StandardCharsets.UTF_8);
        Files.write(seg, java.util.Arrays.copyOf(torn, torn.length - 1), StandardOpenOption.APPEND);

        ReplayBuffer reopened = ReplayBuffer.open(dir, 100);
        assertThat(reopened.pairs()).extracting(StoredPair::id).containsExactly("p0", "p1");
        reopened.append(List.of(pair(3, "prefs", 0, 3)), Map.of("prefs:0", 4L));
        assertThat(ReplayBuffer.open(dir, 100).pairs()).as("the pair after the torn write is readable")
                .extracting(StoredPair::id).containsExactly("p0", "p1", "p3");
    }

    @Test
    void shouldCountPairsOnDiskAsHeldWhenTheCrashCameBeforeThePositionsFile() throws Exception {
        ReplayBuffer b = ReplayBuffer.open(dir, 100);
        b.append(pairs(0, 2), Map.of("prefs:0", 2L));
        byte[] before = Files.readAllBytes(dir.resolve(ReplayBuffer.POSITIONS));
        b.append(pairs(2, 3), Map.of("prefs:0", 5L));
        Files.write(dir.resolve(ReplayBuffer.POSITIONS), before);   // the crash: segment synced, positions not yet
        assertThat(ReplayBuffer.open(dir, 100).positions()).as("ingest skips offsets below this: no second copy")
                .containsEntry("prefs:0", 5L);
    }

    @Test
    void shouldPutAFreshPairInEveryBatchEvenWhenTheMixRoundsUpToTheWholeBatch() {
        // batch 1, mix 0.5: round(0.5) = 1 old pair used to fill every batch, and the new pairs were never trained
        List<List<StoredPair>> batches = ReplayBuffer.mixBatches(pairs(0, 3), pairs(10, 5), 6, 1, 0.5,
                new java.util.Random(1));
        assertThat(batches).allSatisfy(b -> assertThat(b).hasSize(1));
        assertThat(batches.stream().flatMap(List::stream).map(StoredPair::id)).contains("p0", "p1", "p2");
    }

    @Test
    void shouldSplitNewFromOlderPairsByTrainedOffsets() {
        List<StoredPair> all = List.of(pair(0, "a", 0, 3), pair(1, "a", 0, 9), pair(2, "a", 1, 0), pair(3, "b", 0, 5));
        ReplayBuffer.Partitioned p = ReplayBuffer.partition(all, Map.of("a:0", 5L, "b:0", 6L));
        assertThat(p.fresh()).extracting(StoredPair::id).containsExactly("p1", "p2");
        assertThat(p.old()).extracting(StoredPair::id).containsExactly("p0", "p3");
    }

    @Test
    void shouldMixOldPairsIntoEveryBatchAtTheConfiguredFraction() {
        List<String> fresh = new ArrayList<>();
        List<String> old = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            fresh.add("new" + i);
        }
        for (int i = 0; i < 100; i++) {
            old.add("old" + i);
        }
        List<List<String>> batches = ReplayBuffer.mixBatches(fresh, old, 20, 8, 0.25, new Random(1));
        assertThat(batches).hasSize(20);
        Set<String> seenNew = new HashSet<>();
        for (List<String> b : batches) {
            assertThat(b).hasSize(8);
            assertThat(b.stream().filter(s -> s.startsWith("old"))).hasSize(2);
            b.stream().filter(s -> s.startsWith("new")).forEach(seenNew::add);
        }
        assertThat(seenNew).hasSize(10);   // every new pair is used
        assertThat(ReplayBuffer.mixBatches(fresh, List.<String>of(), 3, 8, 0.5, new Random(1)))
                .allSatisfy(b -> assertThat(b).hasSize(8).allMatch(s -> s.startsWith("new")));
        assertThat(ReplayBuffer.mixBatches(fresh, old, 3, 8, 0.0, new Random(1)))
                .allSatisfy(b -> assertThat(b).allMatch(s -> s.startsWith("new")));
        assertThatThrownBy(() -> ReplayBuffer.mixBatches(List.of(), List.of(), 1, 1, 0.5, new Random(1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
