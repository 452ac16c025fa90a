package io.rewardstream.cli;

import io.rewardstream.avro.GroupAdvantage;
import io.rewardstream.avro.ModelRelease;
import io.rewardstream.avro.PreferencePair;
import io.rewardstream.avro.RankedPreference;
import io.rewardstream.avro.Reward;
import io.rewardstream.avro.Rollout;
import org.apache.avro.Schema;

/** The topics {@code produce} and {@code consume} know: default topic name, value schema, record key field. */
enum RecordKind {
    ROLLOUTS("rollouts", Rollout.getClassSchema(), "group_id"),
    PREFERENCES("preferences", PreferencePair.getClassSchema(), "pair_id"),
    RANKED_PREFERENCES("ranked-preferences", RankedPreference.getClassSchema(), "ranking_id"),
    REWARDS("rewards", Reward.getClassSchema(), "group_id"),
    GROUP_ADVANTAGES("group-advantages", GroupAdvantage.getClassSchema(), "group_id"),
    MODEL_RELEASES("model-releases", ModelRelease.getClassSchema(), "model_name"),
    DEAD_LETTERS("rewardstream-dead-letters", null, null);

    final String topic;
    final Schema schema;
    final String keyField;

    RecordKind(String topic, Schema schema, String keyField) {
        this.topic = topic;
        this.schema = schema;
        this.keyField = keyField;
    }

    /** The command-line name: {@code ranked-preferences}, {@code dead-letters}, ... */
    String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    static RecordKind parse(String s) {
        for (RecordKind k : values()) {
            if (k.cliName().equalsIgnoreCase(s) || k.topic.equalsIgnoreCase(s)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown record kind '" + s + "'");
    }
}
