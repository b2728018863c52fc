/**
 * Debian's nginx in front of a test server, running the shipped `deploy/nginx/alarmcast.conf`
 * with only its ports, certificate paths and timeouts changed, and a self-signed certificate made
 * with openssl for 127.0.0.1.
 *
 * @module
 */
import { freePort, listening } from "./ports.ts";

/** The nginx binary, or `undefined` (with a hint on stderr) where it isn't installed. */
export const NGINX = (() => {
  for (const path of ["/usr/sbin/nginx", "/usr/bin/nginx"]) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // Not here.
    }
  }
  const hint = "apt-get install nginx";
  if (Deno.env.get("CI") === "true") throw new Error(`nginx is required in CI: ${hint}`);
  // deno-lint-ignore no-console -- tell the developer why tests were skipped
  console.warn(`Skipping nginx tests: nginx not found. Install it with: ${hint}`);
  return undefined;
})();

/** What a test changes in the shipped configuration. */
export interface NginxOptions {
  /** The alarmcast port nginx proxies to. */
  upstream: number;
  /** Directive values to replace, e.g. `{ client_header_timeout: "2s" }`. */
  set?: Record<string, string>;
}

/** A running nginx with the shipped configuration. */
export class Nginx implements AsyncDisposable {
  /** The TLS port. */
  readonly port: number;
  /** The certificate clients must trust. */
  readonly ca: string;
  readonly #dir: string;
  readonly #child: Deno.ChildProcess;

  private constructor(dir: string, port: number, ca: string, child: Deno.ChildProcess) {
    this.#dir = dir;
    this.port = port;
    this.ca = ca;
    this.#child = child;
  }

  /** Starts nginx with the shipped configuration adapted by `options`. */
  static async start(bin: string, options: NginxOptions): Promise<Nginx> {
    const dir = await Deno.makeTempDir();
    const cert = `${dir}/cert.pem`;
    const key = `${dir}/key.pem`;
    const openssl = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        // A server certificate, not a CA: TLS clients refuse a CA as the server's own.
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!openssl.success) throw new Error(new TextDecoder().decode(openssl.stderr));
    const [tls, plain] = [freePort(), freePort()];
    let site = await Deno.readTextFile(
      new URL("../../deploy/nginx/alarmcast.conf", import.meta.url),
    );
    const swap = (from: RegExp, to: string) => {
      if (!from.test(site)) throw new Error(`The shipped configuration has no ${from}`);
      site = site.replace(from, to);
    };
    swap(/server 127\.0\.0\.1:8080;/, `server 127.0.0.1:${options.upstream};`);
    swap(/listen 80;/, `listen 127.0.0.1:${plain};`);
    swap(/listen 443 ssl;/, `listen 127.0.0.1:${tls} ssl;`);
    swap(/ssl_certificate \S+;/, `ssl_certificate ${cert};`);
    swap(/ssl_certificate_key \S+;/, `ssl_certificate_key ${key};`);
    for (const [name, value] of Object.entries(options.set ?? {})) {
      swap(new RegExp(`^(\\s*${name}) [^;]+;`, "gm"), `$1 ${value};`);
    }
    await Deno.writeTextFile(`${dir}/alarmcast.conf`, site);
    await Deno.writeTextFile(
      `${dir}/nginx.conf`,
      [
        "user root;",
        "worker_processes 1;",
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/error.log info;`,
        "events { worker_connections 1024; }",
        "http {",
        "  access_log off;",
        ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((kind) =>
          `  ${kind}_temp_path ${dir}/${kind};`
        ),
        `  include ${dir}/alarmcast.conf;`,
        "}",
      ].join("\n"),
    );
    const child = new Deno.Command(bin, {
      args: ["-p", dir, "-c", `${dir}/nginx.conf`, "-g", "daemon off;"],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    await listening(tls);
    return new Nginx(dir, tls, await Deno.readTextFile(cert), child);
  }

  /** A TLS connection to nginx that trusts its certificate. */
  connect(): Promise<Deno.TlsConn> {
    return Deno.connectTls({ hostname: "127.0.0.1", port: this.port, caCerts: [this.ca] });
  }

  /** An HTTP client for `fetch` that trusts nginx's certificate. */
  client(): Deno.HttpClient {
    return Deno.createHttpClient({ caCerts: [this.ca] });
  }

  /** `https://127.0.0.1:<port>`. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#child.kill("SIGQUIT");
    await this.#child.stderr.cancel();
    await this.#child.status;
    await Deno.remove(this.#dir, { recursive: true });
  }
}
