package com.example.alarmcast;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.websocket.ClientEndpointConfig;
import jakarta.websocket.CloseReason;
import jakarta.websocket.ContainerProvider;
import jakarta.websocket.DeploymentException;
import jakarta.websocket.Endpoint;
import jakarta.websocket.EndpointConfig;
import jakarta.websocket.MessageHandler;
import jakarta.websocket.Session;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.net.http.WebSocketHandshakeException;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

/**
 * The example against a real alarmcast server, the way a backend and the Vue page use it. The
 * sockets are opened with Tomcat's WebSocket client (jakarta.websocket, already on the classpath
 * of any Spring Boot web app); see {@link #javaNetHttpWebSocket()} for the JDK's own client.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class AlarmcastIntegrationTest {
    static final String API_KEY = "test-api-key-0123456789";
    static final String TOKEN_SECRET = "test-token-secret-0123456789abcdefghijkl";
    static AlarmcastServer server;

    @BeforeAll
    static void startAlarmcast() throws Exception {
        server = AlarmcastServer.start(Map.of("ALARM_API_KEY", API_KEY, "WS_TOKEN_SECRET", TOKEN_SECRET));
    }

    @AfterAll
    static void stopAlarmcast() throws InterruptedException {
        if (server != null) server.close();
    }

    /** Read when the Spring context starts, after {@link #startAlarmcast()}. */
    @DynamicPropertySource
    static void alarmcastProperties(DynamicPropertyRegistry registry) {
        registry.add("alarmcast.base-url", () -> server.baseUrl());
        registry.add("alarmcast.api-key", () -> API_KEY);
        registry.add("alarmcast.token-secret", () -> TOKEN_SECRET);
    }

    @Autowired AlarmcastClient alarmcast;
    @Autowired ConnectionTokens tokens;
    @Autowired TestRestTemplate app;
    @Autowired RestClient.Builder restClientBuilder;
    @Autowired ObjectMapper json;

    @Test
    void aSocketOpenedWithATokenFromTheControllerReceivesThePublishedAlarm() throws Exception {
        // What the Vue page does: ask its backend for a token, then open the socket with it.
        // since=0 replays anything published before the socket joined, so nothing can be missed.
        ConnectionTokens.IssuedToken issued = app.getForObject("/alarm-token?id=plant-3", ConnectionTokens.IssuedToken.class);
        assertTrue(issued.expiresAt().isAfter(Instant.now()));
        FirstMessage first = new FirstMessage();
        try (Session socket = connect("/websocket/plant-3?token=" + issued.token() + "&since=0", first)) {
            AlarmcastClient.Published published = alarmcast.publish(
                    "plant-3", Map.of("level", "critical", "device", "boiler-7", "message", "Pressure \"above\" limit"));
            assertEquals(1, published.seq());
            assertEquals("plant-3", published.target());

            JsonNode alarm = json.readTree(first.text.get(10, TimeUnit.SECONDS));
            assertEquals(published.id(), alarm.path("id").asText());
            assertEquals(1, alarm.path("seq").asLong());
            assertEquals("Pressure \"above\" limit", alarm.path("message").asText());
        }
        AlarmcastClient.History history = alarmcast.history("plant-3", 0, 10);
        assertEquals(1, history.seq());
        assertEquals("boiler-7", history.alarms().get(0).get("device"));
    }

    @Test
    void aWrongApiKeyGivesTheServersErrorWithStatus401() {
        AlarmcastClient wrongKey = new AlarmcastClient(
                new AlarmcastProperties(server.baseUrl(), "not-the-api-key-at-all", TOKEN_SECRET), restClientBuilder, json);
        AlarmcastException error = assertThrows(
                AlarmcastException.class, () -> wrongKey.publish("plant-3", Map.of("message", "x")));
        assertEquals(401, error.status());
        assertEquals("unauthorized", error.code());
    }

    @Test
    void aSocketNeedsATokenForItsOwnIdAndIsRefusedBeforeTheUpgrade() {
        // Refused with an HTTP answer, never 101 then a close (docs/protocol.md): 403 forbidden
        // for a token of another id, 401 token_required without one.
        String otherId = tokens.mint("plant-4", Duration.ofMinutes(1)).token();
        assertEquals(403, refusedWith("/websocket/plant-3?token=" + otherId));
        assertEquals(401, refusedWith("/websocket/plant-3"));
    }

    /**
     * The JDK's own WebSocket client before Java 19 sends {@code Content-Length: 0} on its upgrade
     * request (JDK-8283544, fixed in 19), and Deno 2.9's HTTP server answers that with an empty 400
     * before alarmcast sees it (Deno 2.5 accepted it). From Java 19 on, or on an older Deno, it works.
     */
    @Test
    void javaNetHttpWebSocket() throws Exception {
        String token = tokens.mint("plant-5", Duration.ofMinutes(1)).token();
        URI uri = URI.create(server.wsUrl() + "/websocket/plant-5?token=" + token + "&since=0");
        FirstText first = new FirstText();
        CompletableFuture<WebSocket> opening = HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(uri, first);
        boolean refused = Runtime.version().feature() < 19 && server.denoAtLeast(2, 9);
        if (refused) {
            ExecutionException failed = assertThrows(ExecutionException.class, () -> opening.get(10, TimeUnit.SECONDS));
            WebSocketHandshakeException handshake = assertInstanceOf(WebSocketHandshakeException.class, failed.getCause());
            assertEquals(400, handshake.getResponse().statusCode());
            return;
        }
        WebSocket socket = opening.get(10, TimeUnit.SECONDS);
        alarmcast.publish("plant-5", Map.of("message", "via java.net.http"));
        assertEquals("via java.net.http", json.readTree(first.text.get(10, TimeUnit.SECONDS)).path("message").asText());
        socket.sendClose(WebSocket.NORMAL_CLOSURE, "done").get(10, TimeUnit.SECONDS);
    }

    private static Session connect(String path, Endpoint endpoint) throws Exception {
        return ContainerProvider.getWebSocketContainer()
                .connectToServer(endpoint, ClientEndpointConfig.Builder.create().build(), URI.create(server.wsUrl() + path));
    }

    /** The HTTP status that refused the upgrade, as Tomcat's client reports it ("… [403] …"). */
    private static int refusedWith(String path) {
        DeploymentException refused = assertThrows(DeploymentException.class, () -> connect(path, new FirstMessage()));
        Matcher status = Pattern.compile("\\[(\\d{3})]").matcher(String.valueOf(refused.getMessage()));
        assertTrue(status.find(), "no status in: " + refused.getMessage());
        return Integer.parseInt(status.group(1));
    }

    /** Tomcat's client: completes with the first text message (legacy sockets get only alarms). */
    static final class FirstMessage extends Endpoint {
        final CompletableFuture<String> text = new CompletableFuture<>();

        @Override
        public void onOpen(Session session, EndpointConfig config) {
            session.addMessageHandler(String.class, (MessageHandler.Whole<String>) text::complete);
        }

        @Override
        public void onClose(Session session, CloseReason reason) {
            text.completeExceptionally(new IllegalStateException("Closed with " + reason));
        }
    }

    /** The JDK's client: completes with the first text message. */
    static final class FirstText implements WebSocket.Listener {
        final CompletableFuture<String> text = new CompletableFuture<>();
        private final StringBuilder parts = new StringBuilder();

        @Override
        public CompletionStage<?> onText(WebSocket socket, CharSequence data, boolean last) {
            parts.append(data);
            if (last) text.complete(parts.toString());
            else socket.request(1);
            return null;
        }

        @Override
        public void onError(WebSocket socket, Throwable error) {
            text.completeExceptionally(error);
        }
    }
}
