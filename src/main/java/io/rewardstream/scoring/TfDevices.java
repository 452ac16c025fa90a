package io.rewardstream.scoring;

import org.bytedeco.javacpp.BytePointer;
import org.tensorflow.internal.c_api.TF_DeviceList;
import org.tensorflow.internal.c_api.TF_Graph;
import org.tensorflow.internal.c_api.TF_Session;
import org.tensorflow.internal.c_api.TF_SessionOptions;
import org.tensorflow.internal.c_api.TF_Status;
import org.tensorflow.proto.ConfigProto;

import java.util.ArrayList;
import java.util.List;

import static org.tensorflow.internal.c_api.global.tensorflow.TF_CloseSession;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteDeviceList;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteGraph;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteSession;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteSessionOptions;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeleteStatus;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListCount;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListMemoryBytes;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListName;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_DeviceListType;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_GetCode;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_Message;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewGraph;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewSession;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewSessionOptions;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_NewStatus;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_OK;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SessionListDevices;
import static org.tensorflow.internal.c_api.global.tensorflow.TF_SetConfig;

/**
 * The devices TensorFlow sees under a session configuration (TF Java has no public device listing, so
 * this asks the C API through a throw-away session on an empty graph). Stateless; thread-safe.
 */
public final class TfDevices {

    /** One device: name like {@code /job:localhost/replica:0/task:0/device:GPU:0}, type CPU/GPU, memory. */
    public record Device(String name, String type, long memoryBytes) {
        @Override
        public String toString() {
            return type + " " + name + (memoryBytes > 0 ? " (" + (memoryBytes >> 20) + " MiB)" : "");
        }
    }

    private TfDevices() {
    }

    /**
     * Devices visible under {@code config} (GPU visibility and memory options apply).
     *
     * @throws IllegalStateException when TensorFlow cannot create a session with this configuration
     */
    public static List<Device> available(ConfigProto config) {
        TF_Status status = TF_NewStatus();
        TF_Graph graph = TF_NewGraph();
        TF_SessionOptions options = TF_NewSessionOptions();
        try {
            byte[] bytes = config.toByteArray();
            try (BytePointer p = new BytePointer(bytes)) {
                TF_SetConfig(options, p, bytes.length, status);
            }
            check(status, "invalid session config");
            TF_Session session = TF_NewSession(graph, options, status);
            check(status, "cannot create a session");
            try {
                TF_DeviceList list = TF_SessionListDevices(session, status);
                check(status, "cannot list devices");
                try {
                    List<Device> out = new ArrayList<>();
                    for (int i = 0, n = TF_DeviceListCount(list); i < n; i++) {
                        out.add(new Device(TF_DeviceListName(list, i, status).getString(),
                                TF_DeviceListType(list, i, status).getString(),
                                TF_DeviceListMemoryBytes(list, i, status)));
                    }
                    return out;
                } finally {
                    TF_DeleteDeviceList(list);
                }
            } finally {
                TF_CloseSession(session, status);
                TF_DeleteSession(session, status);
            }
        } finally {
            TF_DeleteSessionOptions(options);
            TF_DeleteGraph(graph);
            TF_DeleteStatus(status);
        }
    }

    private static void check(TF_Status status, String what) {
        if (TF_GetCode(status) != TF_OK) {
            throw new IllegalStateException("TensorFlow: " + what + ": " + TF_Message(status).getString());
        }
    }
}
