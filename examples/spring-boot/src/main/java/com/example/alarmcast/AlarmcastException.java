package com.example.alarmcast;

/**
 * An error answer from alarmcast: its HTTP status and the {@code code} and {@code message} of its
 * {@code {"error":{"code":"…","message":"…"}}} body (see docs/protocol.md for every code).
 */
public class AlarmcastException extends RuntimeException {
    private final int status;
    private final String code;

    public AlarmcastException(int status, String code, String message) {
        super(status + " " + code + ": " + message);
        this.status = status;
        this.code = code;
    }

    /** The HTTP status, e.g. 401. */
    public int status() {
        return status;
    }

    /** alarmcast's error code, e.g. {@code unauthorized}; {@code no_error_body} if it sent none. */
    public String code() {
        return code;
    }
}
