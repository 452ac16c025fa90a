package io.rewardstream.gateway;

/**
 * A request the gateway answers with an HTTP error: the status and a reason meant for the client (no secrets, no
 * stack traces). Unchecked; thrown by request parsing and by {@link RewardGateway#score}.
 */
public final class GatewayException extends RuntimeException {
    private final int status;

    public GatewayException(int status, String reason) {
        super(reason);
        if (status < 400 || status > 599) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        this.status = status;
    }

    public static GatewayException badRequest(String reason) {
        return new GatewayException(400, reason);
    }

    /** The HTTP status (4xx: the client's fault; 5xx: the gateway's or the pipeline's). */
    public int status() {
        return status;
    }

    /** The reason sent to the client. */
    public String reason() {
        return getMessage();
    }
}
