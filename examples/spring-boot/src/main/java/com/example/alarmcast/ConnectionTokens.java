package com.example.alarmcast;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.springframework.stereotype.Component;

/**
 * Mints alarmcast connection tokens locally with the shared WS_TOKEN_SECRET: HS256 JSON Web
 * Tokens, base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256), base64url without
 * padding, exactly what alarmcast verifies. No round trip to alarmcast, no JWT library.
 */
@Component
public class ConnectionTokens {
    /** A token and when it expires (whole seconds, like alarmcast's own {@code POST /api/tokens}). */
    public record IssuedToken(String token, Instant expiresAt) {
    }

    /** The claims: {@code sub} is an id, a prefix ending in {@code *}, or {@code *}; {@code exp} epoch seconds. */
    private record Claims(String sub, long exp) {
    }

    private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();
    private static final String HEADER =
            BASE64URL.encodeToString("{\"alg\":\"HS256\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8));

    private final String secret;
    private final ObjectMapper json;

    public ConnectionTokens(AlarmcastProperties properties, ObjectMapper json) {
        this.secret = properties.tokenSecret();
        this.json = json;
    }

    /** Whether a secret is configured (without one, alarmcast's sockets need no token). */
    public boolean enabled() {
        return secret != null && !secret.isBlank();
    }

    /** A token that opens sockets of {@code idPattern} for {@code ttl}. */
    public IssuedToken mint(String idPattern, Duration ttl) {
        if (!enabled()) throw new IllegalStateException("alarmcast.token-secret is not set");
        Instant expiresAt = Instant.ofEpochSecond(Instant.now().plus(ttl).getEpochSecond());
        try {
            String claims = BASE64URL.encodeToString(json.writeValueAsBytes(new Claims(idPattern, expiresAt.getEpochSecond())));
            String body = HEADER + "." + claims;
            // A Mac is not thread-safe, and getting one is cheap: one per token.
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
            String signature = BASE64URL.encodeToString(mac.doFinal(body.getBytes(StandardCharsets.US_ASCII)));
            return new IssuedToken(body + "." + signature, expiresAt);
        } catch (JsonProcessingException | GeneralSecurityException e) {
            throw new IllegalStateException("Cannot mint a connection token", e);
        }
    }
}
