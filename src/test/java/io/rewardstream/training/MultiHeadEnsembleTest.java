package io.rewardstream.training;

import io.rewardstream.scoring.ByteTokenizer;
import io.rewardstream.scoring.ModelManifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tensorflow.Result;
import org.tensorflow.SavedModelBundle;
import org.tensorflow.Tensor;
import org.tensorflow.types.TFloat32;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MultiHeadEnsembleTest {

    @Test
    void shouldExportNamedHeadsWhoseWeightedSumIsTheRewardAndAnEnsembleStd(@TempDir Path tmp) throws Exception {
        List<ModelManifest.Head> heads = List.of(new ModelManifest.Head("correctness", 1.0),
                new ModelManifest.Head("brevity", 0.5));
        ModelConfig cfg = ModelConfig.of(ModelSize.TINY).withHeads(heads).withEnsemble(3);
        TrainConfig tc = TrainConfig.defaults(ModelSize.TINY).withSteps(5).withProgress(false);
        List<PreferenceExample> data = new ArithmeticTask(ArithmeticTask.Config.defaults())
                .generate(64, ArithmeticTask.Part.TRAIN, false);
        Path dir = tmp.resolve("mh");
        try (BuiltinModel m = BuiltinModel.create(cfg, tc)) {
            m.train(data, List.of());
            m.export(dir, data);
        }
        assertThat(ModelManifest.read(dir).heads()).isEqualTo(heads);
        List<int[]> rows = List.of(ByteTokenizer.encodePair("1+2=", "3"), ByteTokenizer.encodePair("4+4=", "9, I think"));
        Batches.Padded p = Batches.pad(rows, 1);
        try (SavedModelBundle b = SavedModelBundle.loader(dir.toString()).withTags("serve").load();
             var ids = p.idsTensor(); var mask = p.maskTensor()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("input_ids", ids);
            in.put("attention_mask", mask);
            try (Result r = b.function("serving_default").call(in)) {
                TFloat32 reward = (TFloat32) r.get("reward").orElseThrow();
                TFloat32 named = (TFloat32) r.get("rewards").orElseThrow();
                TFloat32 std = (TFloat32) r.get("reward_std").orElseThrow();
                assertThat(named.shape().asArray()).containsExactly(2, 2);
                for (int i = 0; i < 2; i++) {
                    double weighted = named.getFloat(i, 0) * 1.0 + named.getFloat(i, 1) * 0.5;
                    assertThat((double) reward.getFloat(i)).isCloseTo(weighted, within(1e-5));
                    // three differently initialised heads on one shared backbone disagree
                    assertThat(std.getFloat(i)).isGreaterThan(0f);
                }
            }
        }
    }
}
