package io.rewardstream.scoring;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RuntimeConfigTest {

    @Test
    void shouldReadRuntimeConfigKeysAndBuildTheConfigProto() {
        RuntimeConfig cfg = RuntimeConfig.from(java.util.Map.of("model.dir", "/models/rm", "model.intra.op.threads", "2",
                "model.inter.op.threads", 1, "model.gpu.memory.fraction", "0.5", "model.gpu.visible.devices", "0, 1",
                "model.warmup", "false"));
        assertThat(cfg.modelDir()).hasToString("/models/rm");
        assertThat(cfg.warmup()).isFalse();
        assertThat(cfg.verifyDigests()).isTrue();
        org.tensorflow.proto.ConfigProto proto = cfg.toConfigProto();
        assertThat(proto.getIntraOpParallelismThreads()).isEqualTo(2);
        assertThat(proto.getInterOpParallelismThreads()).isEqualTo(1);
        assertThat(proto.getGpuOptions().getAllowGrowth()).isTrue();
        assertThat(proto.getGpuOptions().getPerProcessGpuMemoryFraction()).isEqualTo(0.5);
        assertThat(proto.getGpuOptions().getVisibleDeviceList()).isEqualTo("0,1");
        assertThat(RuntimeConfig.from(java.util.Map.of())).isEqualTo(RuntimeConfig.DEFAULTS);
        assertThatThrownBy(() -> RuntimeConfig.from(java.util.Map.of("model.gpu.memory.fraction", "1.5")))
                .hasMessageContaining("model.gpu.memory.fraction must be in [0, 1]");
        assertThatThrownBy(() -> RuntimeConfig.from(java.util.Map.of("model.gpu.allow.growth", "yes")))
                .hasMessageContaining("model.gpu.allow.growth must be true or false");
        assertThatThrownBy(() -> RuntimeConfig.from(java.util.Map.of("model.gpu.visible.devices", "gpu0")))
                .hasMessageContaining("model.gpu.visible.devices");
    }
}
