package com.example.alarmcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.MediaType;
import org.springframework.http.client.ClientHttpResponse;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.stereotype.Component;
import org.springframework.web.client.RestClient;

/** Publishes alarms to alarmcast and reads an id's history. */
@Component
public class AlarmcastClient {
    /** What {@code POST /api/alarms/{id}} answers (202, or 200 with duplicate for a repeat). */
    public record Published(String id, long seq, String target, int delivered, boolean duplicate) {
    }

    /** What {@code GET /api/alarms/{id}} answers: the id's last seq and its alarms, oldest first. */
    public record History(String target, long seq, List<Map<String, Object>> alarms) {
    }

    private final RestClient rest;
    private final ObjectMapper json;

    public AlarmcastClient(AlarmcastProperties properties, RestClient.Builder builder, ObjectMapper json) {
        this.json = json;
        // HTTP/1.1 on purpose: by default the JDK client sends "Upgrade: h2c" on every http://
        // URL, and Deno's HTTP server answers that 400 with an empty body before alarmcast's
        // handler runs. (Over https:// HTTP/2 is negotiated by TLS instead, and either works.)
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
        JdkClientHttpRequestFactory requestFactory = new JdkClientHttpRequestFactory(http);
        requestFactory.setReadTimeout(Duration.ofSeconds(10));
        this.rest = builder
                .baseUrl(properties.baseUrl())
                .requestFactory(requestFactory)
                .defaultHeaders(headers -> {
                    String key = properties.apiKey();
                    if (key != null && !key.isBlank()) headers.setBearerAuth(key);
                })
                .defaultStatusHandler(HttpStatusCode::isError, (request, response) -> {
                    throw toException(response);
                })
                .build();
    }

    /**
     * Publishes {@code alarm} to {@code id}; the answer comes once alarmcast has stored it.
     *
     * @throws AlarmcastException on an error answer (401 unauthorized, 400 invalid_id, …)
     */
    public Published publish(String id, Map<String, ?> alarm) {
        return rest.post()
                .uri("/api/alarms/{id}", id)
                .contentType(MediaType.APPLICATION_JSON)
                .body(alarm)
                .retrieve()
                .body(Published.class);
    }

    /** Up to {@code limit} alarms of {@code id} with a seq above {@code after}, oldest first. */
    public History history(String id, long after, int limit) {
        return rest.get()
                .uri("/api/alarms/{id}?after={after}&limit={limit}", id, after, limit)
                .retrieve()
                .body(History.class);
    }

    private AlarmcastException toException(ClientHttpResponse response) throws IOException {
        int status = response.getStatusCode().value();
        byte[] body = response.getBody().readAllBytes();
        try {
            JsonNode error = json.readTree(body).path("error");
            if (error.hasNonNull("code")) {
                return new AlarmcastException(status, error.get("code").asText(), error.path("message").asText());
            }
        } catch (IOException notJson) {
            // Fall through: not alarmcast's error body.
        }
        // An empty body: the request was refused by Deno's HTTP server before alarmcast saw it.
        return new AlarmcastException(status, "no_error_body", "HTTP " + status + " without an alarmcast error body");
    }
}
