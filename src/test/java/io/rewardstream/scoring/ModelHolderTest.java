package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelHolderTest {
    private static final PaddedBatch BATCH = PaddedBatch.of(new int[][]{{5, 6}, {7}}, new int[]{0, 1}, 8, 0);

    @Test
    void shouldCloseTheOldModelOnlyAfterItsLastLease() {
        ConstantRewardModel a = ConstantRewardModel.of(1f, 64, 300);
        ConstantRewardModel b = ConstantRewardModel.of(2f, 64, 300);
        ModelHolder holder = new ModelHolder(a);
        ModelHolder.Lease l1 = holder.acquire();
        ModelHolder.Lease l2 = holder.acquire();
        holder.swap(b);
        try (ModelHolder.Lease l3 = holder.acquire()) {
            assertThat(l3.model().score(BATCH).reward()).containsExactly(2f, 2f);
        }
        assertThat(l1.model().score(BATCH).reward()).containsExactly(1f, 1f);
        l1.close();
        l1.close(); // idempotent: must not release twice
        assertThat(a.isClosed()).isFalse();
        l2.close();
        assertThat(a.isClosed()).isTrue();
        assertThatThrownBy(l2::model).hasMessageContaining("lease already closed");

        holder.close();
        assertThat(b.isClosed()).isTrue();
        assertThatThrownBy(holder::acquire).hasMessageContaining("model holder is closed");
        ConstantRewardModel c = ConstantRewardModel.of(3f, 64, 300);
        assertThatThrownBy(() -> holder.swap(c)).hasMessageContaining("not installed");
        assertThat(c.isClosed()).isTrue();
    }

    @Test
    void shouldNeverScoreWithAClosedModelWhileSwappingUnderLoad() throws Exception {
        List<ConstantRewardModel> models = new ArrayList<>();
        ConstantRewardModel first = ConstantRewardModel.of(0f, 64, 300);
        models.add(first);
        ModelHolder holder = new ModelHolder(first);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong scored = new AtomicLong();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch started = new CountDownLatch(2);
        List<Thread> workers = new ArrayList<>();
        for (int w = 0; w < 2; w++) {
            Thread t = new Thread(() -> {
                started.countDown();
                while (!stop.get()) {
                    try (ModelHolder.Lease lease = holder.acquire()) {
                        lease.model().score(BATCH); // throws if the model was closed under us
                        scored.incrementAndGet();
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }
            });
            t.start();
            workers.add(t);
        }
        started.await();
        for (int i = 1; i <= 500; i++) {
            ConstantRewardModel next = ConstantRewardModel.of(i, 64, 300);
            models.add(next);
            holder.swap(next);
        }
        stop.set(true);
        for (Thread t : workers) {
            t.join();
        }
        assertThat(errors).isEmpty();
        assertThat(scored.get()).isPositive();
        assertThat(models.subList(0, models.size() - 1)).allMatch(ConstantRewardModel::isClosed);
        assertThat(models.get(models.size() - 1).isClosed()).isFalse();
        holder.close();
        assertThat(models.get(models.size() - 1).isClosed()).isTrue();
    }

    @Test
    void shouldRefuseLeasesUntilTheFirstModelIsInstalledWhenStartedEmpty() {
        ModelHolder holder = new ModelHolder();
        assertThat(holder.isEmpty()).isTrue();
        assertThatThrownBy(holder::acquire).isInstanceOf(ModelHolder.NoModelException.class)
                .hasMessageContaining("no model installed yet");
        assertThatThrownBy(holder::modelVersion).isInstanceOf(ModelHolder.NoModelException.class);
        ConstantRewardModel first = ConstantRewardModel.of(1f, 64, 300);
        holder.swap(first);
        assertThat(holder.isEmpty()).isFalse();
        try (ModelHolder.Lease lease = holder.acquire()) {
            assertThat(lease.model()).isSameAs(first);
        }
        holder.close();
        assertThat(first.isClosed()).isTrue();
        assertThatThrownBy(holder::acquire).isInstanceOf(IllegalStateException.class)
                .isNotInstanceOf(ModelHolder.NoModelException.class).hasMessageContaining("closed");
        ConstantRewardModel late = ConstantRewardModel.of(2f, 64, 300);
        assertThatThrownBy(() -> holder.swap(late)).isInstanceOf(IllegalStateException.class);
        assertThat(late.isClosed()).isTrue();
    }
}
