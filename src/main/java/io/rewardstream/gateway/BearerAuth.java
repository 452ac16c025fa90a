package io.rewardstream.gateway;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Locale;

/**
 * Checks {@code Authorization: Bearer <token>} headers against the configured token in constant time (the
 * comparison does not leak how many leading characters matched). Immutable; thread-safe.
 */
public final class BearerAuth {
    private final byte[] token;

    /** @param token the expected token (not blank) */
    public BearerAuth(String token) {
        if (token == null || token.isBlank()) {
            throw new IllegalArgumentException("token must not be blank");
        }
        this.token = token.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Whether a raw URI query (may be null) carries the token as {@code access_token} (RFC 6750 section 2.3, for
     * clients that cannot set headers, such as OpenRLHF's reward client).
     */
    public boolean acceptsQuery(String rawQuery) {
        if (rawQuery == null) {
            return false;
        }
        boolean ok = false;
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && pair.substring(0, eq).equals("access_token")) {
                String v;
                try {
                    v = java.net.URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
                } catch (IllegalArgumentException e) {
                    continue;   // a malformed escape (%zz) is a wrong token (401), not a dropped connection
                }
                ok |= MessageDigest.isEqual(v.getBytes(StandardCharsets.UTF_8), token);
            }
        }
        return ok;
    }

    /** Whether the header value (may be null) carries the token; the scheme is case-insensitive (RFC 6750). */
    public boolean accepts(String authorization) {
        if (authorization == null) {
            return false;
        }
        String a = authorization.strip();
        if (a.length() < 7 || !a.substring(0, 7).toLowerCase(Locale.ROOT).equals("bearer ")) {
            return false;
        }
        byte[] given = a.substring(7).strip().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(given, token);
    }
}
