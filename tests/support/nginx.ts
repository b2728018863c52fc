/**
 * Debian's nginx in front of test servers, running the shipped `deploy/nginx/alarmcast.conf`
 * with only its addresses, upstreams, certificate and log paths and timeouts changed, and by
 * default a self-signed certificate made with openssl for 127.0.0.1.
 *
 * @module
 */
import { freePort, listening } from "./ports.ts";
import { within } from "./teardown.ts";
import { requiredTool } from "./tools.ts";

/** The nginx binary, or `undefined` (with a hint on stderr) where it isn't installed. */
export const NGINX = requiredTool(
  "nginx",
  ["/usr/sbin/nginx", "/usr/bin/nginx"],
  "apt-get install nginx",
  "nginx tests",
);

/** What a test changes in the shipped configuration. */
export interface NginxOptions {
  /** The alarmcast port (or ports, one upstream server each) nginx proxies to. */
  upstream: number | number[];
  /** Directive values to replace, e.g. `{ client_header_timeout: "2s" }`. */
  set?: Record<string, string>;
  /** Certificate and key files nginx serves, and the CA clients trust (PEM text). */
  tls?: { cert: string; key: string; ca: string };
  /** Turns on the block for old pages on the old port, listening on this one. */
  legacyPort?: number;
}

/** A running nginx with the shipped configuration. */
export class Nginx implements AsyncDisposable {
  /** The TLS port. */
  readonly port: number;
  /** The certificate clients must trust. */
  readonly ca: string;
  /** Where the shipped `access_log` lines go. */
  readonly accessLog: string;
  /** The site's error log (as shipped) and the one around it (at `info`). */
  readonly errorLogs: string[];
  readonly #dir: string;
  readonly #child: Deno.ChildProcess;

  private constructor(dir: string, port: number, ca: string, child: Deno.ChildProcess) {
    this.#dir = dir;
    this.port = port;
    this.ca = ca;
    this.#child = child;
    this.accessLog = `${dir}/access.log`;
    this.errorLogs = [`${dir}/alarmcast.error.log`, `${dir}/error.log`];
  }

  /** Starts nginx with the shipped configuration adapted by `options`. */
  static async start(bin: string, options: NginxOptions): Promise<Nginx> {
    const dir = await Deno.makeTempDir();
    const cert = options.tls?.cert ?? `${dir}/cert.pem`;
    const key = options.tls?.key ?? `${dir}/key.pem`;
    if (!options.tls) await selfSigned(cert, key);
    const [tls, plain] = [freePort(), freePort()];
    let site = await Deno.readTextFile(
      new URL("../../deploy/nginx/alarmcast.conf", import.meta.url),
    );
    const swap = (from: RegExp, to: string) => {
      if (!from.test(site)) throw new Error(`The shipped configuration has no ${from}`);
      site = site.replace(from, to);
    };
    if (options.legacyPort !== undefined) {
      // The commented-out block for old pages, as an operator uncomments it.
      const block = /^#server \{\n(?:#.*\n)*?#\}$/m;
      if (!block.test(site)) {
        throw new Error("The shipped configuration has no block for old pages");
      }
      site = site.replace(block, (text) => text.replace(/^#/gm, ""));
      swap(/listen 192\.0\.2\.10:8080;/, `listen 127.0.0.1:${options.legacyPort};`);
    }
    const upstreams = [options.upstream].flat();
    swap(
      /server 127\.0\.0\.1:8080( [^;]*)?;/,
      upstreams.map((port) => `server 127.0.0.1:${port}$1;`).join("\n    "),
    );
    swap(/listen 80;/, `listen 127.0.0.1:${plain};`);
    swap(/listen 443 ssl http2;/, `listen 127.0.0.1:${tls} ssl http2;`);
    swap(/ssl_certificate \S+;/, `ssl_certificate ${cert};`);
    swap(/ssl_certificate_key \S+;/, `ssl_certificate_key ${key};`);
    site = site.replaceAll("/var/log/nginx/alarmcast.access.log", `${dir}/access.log`);
    site = site.replaceAll("/var/log/nginx/alarmcast.error.log", `${dir}/alarmcast.error.log`);
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
    return new Nginx(dir, tls, options.tls?.ca ?? await Deno.readTextFile(cert), child);
  }

  /** A TLS connection to nginx that trusts its certificate. */
  connect(): Promise<Deno.TlsConn> {
    return Deno.connectTls({ hostname: "127.0.0.1", port: this.port, caCerts: [this.ca] });
  }

  /**
   * An HTTP client for `fetch` (and, on Deno 2.9, `WebSocket`) that trusts nginx's certificate,
   * connecting from `localAddress` if given (127.0.0.2, ...: another client address).
   */
  client(localAddress?: string): Deno.HttpClient {
    return Deno.createHttpClient({
      caCerts: [this.ca],
      ...(localAddress === undefined ? {} : { localAddress }),
    });
  }

  /** `https://127.0.0.1:<port>`. */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#child.kill("SIGQUIT");
    await this.#child.stderr.cancel();
    await within("nginx", this.#child.status);
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** A self-signed certificate for 127.0.0.1, as a quick check needs. */
async function selfSigned(cert: string, key: string): Promise<void> {
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
}
