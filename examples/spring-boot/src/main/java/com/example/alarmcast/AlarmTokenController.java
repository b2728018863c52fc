package com.example.alarmcast;

import java.time.Duration;
import java.util.regex.Pattern;
import org.springframework.http.HttpStatus;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.server.ResponseStatusException;

/**
 * {@code GET /alarm-token?id=plant-3}: the connection token the Vue page puts in its WebSocket URL
 * ({@code ws://…/websocket/plant-3?token=…}), and fetches again when alarmcast closes the socket
 * with 4001 (token expired).
 *
 * <p>Whoever can call this can listen to the id, so in a real application it sits behind the
 * application's own login (Spring Security, like the rest of its API), and mints only for ids the
 * signed-in user may see. This example leaves that out to stay small.
 */
@RestController
public class AlarmTokenController {
    /** The ids alarmcast accepts (exact ids only here: no prefixes for browsers). */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_.:-]{1,128}");
    /** Short-lived: a leaked token is worth little, and the page renews it on 4001. */
    private static final Duration TTL = Duration.ofMinutes(10);

    private final ConnectionTokens tokens;

    public AlarmTokenController(ConnectionTokens tokens) {
        this.tokens = tokens;
    }

    @GetMapping("/alarm-token")
    public ConnectionTokens.IssuedToken token(@RequestParam String id) {
        if (!ID.matcher(id).matches()) {
            throw new ResponseStatusException(HttpStatus.BAD_REQUEST, "Not an alarmcast id");
        }
        if (!tokens.enabled()) {
            throw new ResponseStatusException(HttpStatus.NOT_IMPLEMENTED, "alarmcast.token-secret is not set");
        }
        return tokens.mint(id, TTL);
    }
}
