import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Publishes one alarm to alarmcast, mints a connection token for the id and reads the id's
 * history, with nothing but the JDK (Java 17+):
 *
 * <pre>
 * ALARM_API_KEY=... WS_TOKEN_SECRET=... \
 *   java examples/java/Publisher.java http://127.0.0.1:8080 plant-3 "Pressure above limit"
 * </pre>
 *
 * Prints one line per result, for people and scripts alike: {@code published <json>},
 * {@code token <token>} (only when WS_TOKEN_SECRET is set) and {@code history <json>}. An error
 * answer goes to stderr as {@code error <status> <json>}, and the exit status is 1.
 */
public class Publisher {
    /** The ids alarmcast accepts; it matches the raw path, so an id is never percent-encoded. */
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_.:-]{1,128}");

    // UTF-8 whatever the platform's default (Java 17 takes it from the locale), so messages
    // with non-ASCII characters print as the server sent them.
    private static final PrintStream out =
            new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
    private static final PrintStream err =
            new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8);

    // HTTP/1.1 on purpose: by default the JDK client sends "Upgrade: h2c" on every http:// URL,
    // and Deno's HTTP server answers that 400 with an empty body before alarmcast's handler runs.
    private static final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !ID.matcher(args[1]).matches()) {
            err.println("usage: java Publisher.java <baseUrl> <id> [message]"
                    + "  (id: 1 to 128 of A-Z a-z 0-9 _ . : -)");
            System.exit(2);
        }
        String base = args[0].replaceAll("/+$", "");
        String id = args[1];
        String message = args.length > 2 ? args[2] : "Pressure above limit";
        String apiKey = System.getenv("ALARM_API_KEY"); // unset: the server's API is open
        String secret = System.getenv("WS_TOKEN_SECRET"); // unset: sockets need no token

        String alarm = "{\"level\":\"critical\",\"device\":\"boiler-7\",\"message\":" + quote(message) + "}";
        String published = call(request(base + "/api/alarms/" + id, apiKey)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(alarm)));
        out.println("published " + published);

        if (secret != null && !secret.isEmpty()) {
            out.println("token " + mintToken(secret, id, Duration.ofMinutes(10)));
        }

        // The last ten alarms of the id, ending with ours (the JDK has no JSON parser: a regex
        // is enough to take "seq" out of the publish answer).
        Matcher seq = Pattern.compile("\"seq\":(\\d+)").matcher(published);
        long after = seq.find() ? Math.max(0, Long.parseLong(seq.group(1)) - 10) : 0;
        String history = base + "/api/alarms/" + id + "?after=" + after + "&limit=10";
        out.println("history " + call(request(history, apiKey).GET()));
    }

    /**
     * A connection token, as alarmcast verifies it: an HS256 JSON Web Token,
     * base64url(header) "." base64url(claims) "." base64url(HMAC-SHA256(secret, header.claims)),
     * base64url without padding. The id is safe inside a JSON string as it is (see ID).
     */
    static String mintToken(String secret, String id, Duration ttl) throws Exception {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        long exp = Instant.now().plus(ttl).getEpochSecond();
        String header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
        String claims = "{\"sub\":\"" + id + "\",\"exp\":" + exp + "}";
        String body = b64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(claims.getBytes(StandardCharsets.UTF_8));
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        return body + "." + b64.encodeToString(mac.doFinal(body.getBytes(StandardCharsets.US_ASCII)));
    }

    private static HttpRequest.Builder request(String url, String apiKey) {
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
        if (apiKey != null && !apiKey.isEmpty()) builder.header("Authorization", "Bearer " + apiKey);
        return builder;
    }

    /** Sends the request; on anything but 2xx prints the server's error JSON and exits 1. */
    private static String call(HttpRequest.Builder request) throws InterruptedException {
        HttpRequest built = request.build();
        try {
            HttpResponse<String> response = http.send(built, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() / 100 == 2) return response.body();
            // {"error":{"code":"…","message":"…"}}, or empty if Deno refused the request itself.
            err.println("error " + response.statusCode() + " " + response.body());
        } catch (IOException e) {
            err.println("error " + built.method() + " " + built.uri() + ": " + e);
        }
        System.exit(1);
        return null; // not reached
    }

    /** A JSON string literal: quotes, backslashes and control characters escaped. */
    static String quote(String text) {
        StringBuilder json = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> json.append("\\\"");
                case '\\' -> json.append("\\\\");
                case '\n' -> json.append("\\n");
                case '\r' -> json.append("\\r");
                case '\t' -> json.append("\\t");
                default -> {
                    if (c < 0x20) json.append(String.format("\\u%04x", (int) c));
                    else json.append(c);
                }
            }
        }
        return json.append('"').toString();
    }
}
