package com.example.alarmcast;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real alarmcast server for tests: {@code deno run … main.ts} of this checkout as a child
 * process, on 127.0.0.1 and a port the system picks (PORT=0), with an in-memory store. The port
 * comes from its JSON "listening" log line.
 *
 * <p>Deno is {@code $DENO} or {@code deno} on the PATH; the checkout is the system property
 * {@code alarmcast.repo}, else {@code $ALARMCAST_REPO}, else {@code ../..} from this example.
 */
final class AlarmcastServer implements AutoCloseable {
    private final Process process;
    private final int port;
    private final List<String> log;
    private final int[] denoVersion;

    private AlarmcastServer(Process process, int port, List<String> log, int[] denoVersion) {
        this.process = process;
        this.port = port;
        this.log = log;
        this.denoVersion = denoVersion;
    }

    /** Starts the server with {@code env} added (ALARM_API_KEY, WS_TOKEN_SECRET, …). */
    static AlarmcastServer start(Map<String, String> env) throws Exception {
        Path main = repo().resolve("main.ts");
        if (!Files.isRegularFile(main)) {
            throw new IllegalStateException("No alarmcast main.ts at " + main + ": set -Dalarmcast.repo=<checkout>");
        }
        String deno = Objects.requireNonNullElse(System.getenv("DENO"), "deno");
        int[] denoVersion = version(deno);
        ProcessBuilder builder = new ProcessBuilder(
                deno, "run", "--allow-net", "--allow-env", "--allow-read", "--allow-write", main.toString())
                .redirectErrorStream(true);
        builder.environment().putAll(Map.of("PORT", "0", "HOST", "127.0.0.1", "KV_PATH", ":memory:", "NO_COLOR", "1"));
        builder.environment().putAll(env);
        Process process = builder.start();

        List<String> log = Collections.synchronizedList(new ArrayList<>());
        CompletableFuture<Integer> listening = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            ObjectMapper json = new ObjectMapper();
            try (BufferedReader lines = new BufferedReader(
                    new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) {
                    log.add(line);
                    JsonNode record = line.startsWith("{") ? json.readTree(line) : null;
                    if (record != null && "listening".equals(record.path("msg").asText())) {
                        listening.complete(record.path("port").asInt());
                    }
                }
            } catch (IOException e) {
                // The process is gone; said below.
            }
            listening.completeExceptionally(new IllegalStateException("alarmcast exited before listening"));
        }, "alarmcast-log");
        reader.setDaemon(true); // keeps reading (and so never blocks the server) until it exits
        reader.start();
        try {
            return new AlarmcastServer(process, listening.get(30, TimeUnit.SECONDS), log, denoVersion);
        } catch (Exception e) {
            process.destroyForcibly();
            throw new IllegalStateException("alarmcast did not start: " + e + "\n" + String.join("\n", log), e);
        }
    }

    /** Major and minor from {@code deno --version}, whose first line is "deno 2.9.6 (stable, …)". */
    private static int[] version(String deno) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder(deno, "--version").redirectErrorStream(true).start();
        } catch (IOException e) {
            // The README's npx route leaves no deno on PATH: say how to point at one.
            throw new IllegalStateException("Cannot run Deno as \"" + deno + "\": put deno on PATH "
                    + "(npm install --global deno@2.9.6) or set DENO to its path "
                    + "(DENO=$(npx --yes deno@2.9.6 eval 'console.log(Deno.execPath())') mvn -B test)", e);
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor(10, TimeUnit.SECONDS);
        String[] parts = output.split("\\s+")[1].split("\\.");
        return new int[] {Integer.parseInt(parts[0]), Integer.parseInt(parts[1])};
    }

    private static Path repo() {
        String configured = System.getProperty("alarmcast.repo", System.getenv("ALARMCAST_REPO"));
        return Path.of(configured != null ? configured : "../..").toAbsolutePath().normalize();
    }

    /** {@code http://127.0.0.1:<port>} */
    String baseUrl() {
        return "http://127.0.0.1:" + port;
    }

    /** {@code ws://127.0.0.1:<port>} */
    String wsUrl() {
        return "ws://127.0.0.1:" + port;
    }

    /** Whether the server runs on Deno {@code major.minor} or newer. */
    boolean denoAtLeast(int major, int minor) {
        return denoVersion[0] != major ? denoVersion[0] > major : denoVersion[1] >= minor;
    }

    /** The log lines so far. */
    List<String> log() {
        return List.copyOf(log);
    }

    @Override
    public void close() throws InterruptedException {
        // Children first: $DENO may be a wrapper (npm's deno package runs the real binary as a child).
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
    }
}
