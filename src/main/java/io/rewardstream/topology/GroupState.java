package io.rewardstream.topology;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The value of store {@code group-members}: the scored members of one open group. Binary, versioned; immutable.
 *
 * @param firstArrivalMs wall-clock time the first member arrived (the group timeout runs from here)
 * @param expectedSize   the group_size of the first member that had one, or null
 * @param members        members in arrival order, unique by rollout id
 */
record GroupState(long firstArrivalMs, Integer expectedSize, List<GroupMember> members) {

    private static final byte FORMAT_VERSION = 1;

    GroupState {
        members = List.copyOf(members);
    }

    /** This group with {@code m} added (replacing a member with the same rollout id). */
    GroupState plus(GroupMember m) {
        List<GroupMember> next = new ArrayList<>(members.size() + 1);
        for (GroupMember x : members) {
            if (!x.rolloutId().equals(m.rolloutId())) {
                next.add(x);
            }
        }
        next.add(m);
        return new GroupState(firstArrivalMs, expectedSize != null ? expectedSize : m.groupSize(), next);
    }

    boolean complete() {
        return expectedSize != null && members.size() >= expectedSize;
    }

    byte[] toBytes() {
        ByteArrayOutputStream bos = new ByteArrayOutputStream(64 + members.size() * 64);
        try (DataOutputStream out = new DataOutputStream(bos)) {
            out.writeByte(FORMAT_VERSION);
            out.writeLong(firstArrivalMs);
            out.writeInt(expectedSize == null ? -1 : expectedSize);
            out.writeInt(members.size());
            for (GroupMember m : members) {
                out.writeUTF(m.rolloutId());
                out.writeUTF(m.groupId());
                out.writeUTF(m.policyVersion());
                out.writeUTF(m.modelVersion());
                out.writeDouble(m.value());
                out.writeInt(m.groupSize() == null ? -1 : m.groupSize());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bos.toByteArray();
    }

    /** @throws IllegalArgumentException on bytes of an unknown format */
    static GroupState fromBytes(byte[] bytes) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes))) {
            byte v = in.readByte();
            if (v != FORMAT_VERSION) {
                throw new IllegalArgumentException("group-members: unknown format version " + v);
            }
            long first = in.readLong();
            int expected = in.readInt();
            int n = in.readInt();
            List<GroupMember> members = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                String id = in.readUTF();
                String group = in.readUTF();
                String policy = in.readUTF();
                String model = in.readUTF();
                double value = in.readDouble();
                int size = in.readInt();
                members.add(new GroupMember(id, group, policy, model, value, size < 0 ? null : size));
            }
            return new GroupState(first, expected < 0 ? null : expected, members);
        } catch (IOException e) {
            throw new IllegalArgumentException("group-members: corrupt entry: " + e.getMessage(), e);
        }
    }
}
