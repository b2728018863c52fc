package com.example.alarmcast;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Where alarmcast is and the two secrets it shares with this backend ({@code alarmcast.*} in
 * application.properties).
 *
 * @param baseUrl     e.g. {@code http://alarmcast.internal:8080}
 * @param apiKey      alarmcast's ALARM_API_KEY; blank if the server runs without one
 * @param tokenSecret alarmcast's WS_TOKEN_SECRET; blank if sockets need no token
 */
@ConfigurationProperties("alarmcast")
public record AlarmcastProperties(String baseUrl, String apiKey, String tokenSecret) {
}
